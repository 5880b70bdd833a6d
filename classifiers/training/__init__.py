"""Building the triage model: datasets, the torch network, training, ONNX export, scoring and
the no-worse retrain guard.

Production never needs this package to triage. `listenpost eval` and `retrain` import its
`evaluate` and `retrain` modules, which (like this file) import nothing heavier than numpy;
torch, transformers and scikit-learn load only inside the functions that train.
"""
