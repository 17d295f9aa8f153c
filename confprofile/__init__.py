"""confprofile: a runnable reproduction of Conf-Profile (arXiv 2509.18864).

Label-free LLM user profiling: teachers label users with confidence hints, votes are
confidence-weighted and calibrated, a small student is distilled (SFT) and refined with
confidence-guided unsupervised RL. One module per pipeline stage; notebooks under
``notebooks/`` call them in order.
"""

__version__ = "0.1.0"
