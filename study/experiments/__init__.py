"""One package per paper, the same modules in each: `run` (the run function(s), `run(config) -> study.runs.Result`,
a pure function of its config, with its typed frozen `RunConfig`), `params` (the notebook's parameters declared once,
`Params`), `plan` (which configs a profile runs), `claims` (the paper's numbers, `judge`, deviations, metrics) and
`figures` (tables and plots). Each package's ``__init__`` re-exports what its notebook calls.

| package | paper | notebook |
|---|---|---|
| `foundations` | Tomasi, *Training Convolutional Neural Networks* (lecture notes) | 00_training_foundations |
| `sl1` | Yang et al., *Entropy Error-based CNN Sparse Optimization* | 01_sl1_mnist |
| `rvsm` | Xue & Xin, *Learning Sparse Neural Networks via l0 and Tl1 by RVSM* | 02_rvsm_curves |
| `mi` | Zaugg et al., *Cross-Entropy Regularization with Mutual Information* | 03_mi_regularization |

Only code reachable from a run function enters the run store's code version (`study.runs.code_sources`), and a
package's `run.py` imports none of its other modules: plans, parameters, reference numbers, claims and figures can
be edited without re-training anything (`tests/test_params.py` checks it).
"""
