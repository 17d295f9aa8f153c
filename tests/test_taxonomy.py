import pytest
import yaml

from confprofile.errors import TaxonomyError
from confprofile.taxonomy import DEFAULT_TAXONOMY, UNKNOWN, load_taxonomy, parse_taxonomy


def test_default_taxonomy_has_six_dimensions_with_described_labels():
    tax = load_taxonomy()
    assert len(tax) == 6
    assert {"age", "gender", "occupation", "life_stage"} <= set(tax.names)
    for attr in tax:
        assert len(attr.labels) >= 2 and len(set(attr.labels)) == len(attr.labels)
        for lab in attr.label_specs:
            assert lab.description and lab.cues, (attr.name, lab.name)
    assert tax["occupation"].group_of("it_internet") == "white_collar"
    assert tax["gender"].is_valid(UNKNOWN) and not tax["gender"].is_valid("other")


def _raw():
    return yaml.safe_load(DEFAULT_TAXONOMY.read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["attributes"]["age"].pop("labels"), "attribute 'age': 'labels' must map"),
    (lambda r: r["attributes"]["gender"]["labels"].pop("male"), "attribute 'gender': 'labels' must map at least two"),
    (lambda r: r["attributes"]["age"]["labels"].__setitem__("unknown", {"description": "x"}), "'unknown' is reserved"),
    (lambda r: r["attributes"]["education"]["labels"]["bachelor"].pop("description"), "label 'bachelor': needs"),
    (lambda r: r["attributes"]["education"].__setitem__("unknown", "yes"), "'unknown' must be true or false"),
    (lambda r: r["attributes"]["age"]["labels"]["18_24"].__setitem__("cues", "dorm"), "'cues' must be a list"),
    (lambda r: r.__setitem__("attributes", {}), "'attributes' must be a non-empty mapping"),
])
def test_bad_taxonomy_names_file_attribute_and_problem(tmp_path, mutate, message):
    raw = _raw()
    mutate(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(TaxonomyError) as e:
        load_taxonomy(path)
    assert str(path) in str(e.value) and message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_and_unparseable_taxonomy_files(tmp_path):
    with pytest.raises(TaxonomyError, match="taxonomy file not found"):
        load_taxonomy(tmp_path / "nope.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("attributes: [unclosed\n")
    with pytest.raises(TaxonomyError, match=r"broken.yaml:\d+: not valid YAML"):
        load_taxonomy(bad)


def test_parse_taxonomy_roundtrip_equals_file():
    assert parse_taxonomy(_raw(), source=str(DEFAULT_TAXONOMY)) == load_taxonomy()


def test_unquoted_numeric_label_is_rejected_not_renamed(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("attributes:\n  age:\n    labels:\n      18_24: {description: young}\n      25_34: {description: older}\n")
    with pytest.raises(TaxonomyError, match=r"attribute 'age': label 1824: name must be a string \(quote it in YAML\)"):
        load_taxonomy(path)


@pytest.mark.parametrize("text, line, key", [
    ("attributes:\n  age:\n    labels: {a: {description: x}, b: {description: y}}\n"
     "  age:\n    labels: {c: {description: x}, d: {description: y}}\n", 4, "age"),
    ("attributes:\n  age:\n    labels:\n      a: {description: x}\n      b: {description: y}\n"
     "      a: {description: z}\n", 6, "a"),
])
def test_duplicate_attribute_or_label_is_an_error_naming_the_line(tmp_path, text, line, key):
    path = tmp_path / "tax.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError, match=rf"tax\.yaml:{line}: duplicate key '{key}'"):
        load_taxonomy(path)
