"""The model server: MLflow scoring protocol and Open Inference Protocol V2 over raw ASGI.

This package imports only what serving needs (the registry records, the artifact
loader, numpy/pandas/scikit-learn at load time, uvicorn when run), never docker,
kubernetes, training, gate or cli code, so a published image stays slim and
starts fast.
"""
