"""One module per paper: the run function (`run(config) -> study.runs.Result`, a pure function of its config),
the plan builders (which configs a profile runs), the paper's reference numbers and the claim builders.

| module | paper | notebook |
|---|---|---|
| `foundations` | Tomasi, *Training Convolutional Neural Networks* (lecture notes) | 00_training_foundations |
| `sl1` | Yang et al., *Entropy Error-based CNN Sparse Optimization* | 01_sl1_mnist |
| `rvsm` | Xue & Xin, *Learning Sparse Neural Networks via l0 and Tl1 by RVSM* | 02_rvsm_curves |
| `mi` | Zaugg et al., *Cross-Entropy Regularization with Mutual Information* | 03_mi_regularization |

Only code reachable from a run function enters the run store's code version (`study.runs.code_sources`): plans,
reference numbers, claims and tables can be edited without re-training anything.
"""
