"""The Open Inference Protocol (KServe V2), by hand and through tritonclient, a client nobody here wrote."""

from __future__ import annotations

import numpy as np
import pytest
from serve_support import Server, Trained

NAME = "breast-cancer"


def test_health_and_metadata(server: Server, trained: Trained) -> None:
    assert server.get("/v2/health/live").status_code == 200
    assert server.get("/v2/health/ready").status_code == 200
    assert server.get(f"/v2/models/{NAME}/ready").status_code == 200
    assert server.get(f"/v2/models/{NAME}/versions/{trained.record['version']}/ready").status_code == 200
    meta = server.get(f"/v2/models/{NAME}").json()
    assert meta["name"] == NAME and meta["versions"] == [str(trained.record["version"])]
    inputs = {i["name"]: i["datatype"] for i in meta["inputs"]}
    assert list(inputs) == trained.columns
    assert inputs["site"] == "BYTES" and inputs["mean_radius"] == "FP64"
    assert meta["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]
    assert server.get("/v2").json()["extensions"] == ["binary_tensor_data"]


def column_tensors(trained: Trained) -> list[dict]:
    n = len(trained.rows)
    return [{"name": c, "shape": [n], "datatype": "BYTES" if c == "site" else "FP64",
             "data": [r[i] for r in trained.rows]} for i, c in enumerate(trained.columns)]


def test_infer_with_one_tensor_per_column(server: Server, trained: Trained) -> None:
    response = server.post(f"/v2/models/{NAME}/infer", {"id": "req-1", "inputs": column_tensors(trained)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "req-1" and body["model_name"] == NAME
    assert body["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [len(trained.rows)],
                                "data": trained.expected}]


def test_infer_with_column_tensors_of_shape_n_by_1(server: Server, trained: Trained) -> None:
    tensors = column_tensors(trained)
    for t in tensors:
        t["shape"] = [len(trained.rows), 1]
        t["data"] = [[v] for v in t["data"]]
    response = server.post(f"/v2/models/{NAME}/infer", {"inputs": tensors})
    assert response.json()["outputs"][0]["data"] == trained.expected


def test_infer_with_one_2d_tensor_in_signature_order(server: Server, trained: Trained) -> None:
    tensor = {"name": "input-0", "shape": [len(trained.rows), len(trained.columns)], "datatype": "BYTES",
              "data": trained.rows}
    response = server.post(f"/v2/models/{NAME}/infer", {"inputs": [tensor]})
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == trained.expected


def test_versioned_infer_route(server: Server, trained: Trained) -> None:
    path = f"/v2/models/{NAME}/versions/{trained.record['version']}/infer"
    assert server.post(path, {"inputs": column_tensors(trained)}).json()["outputs"][0]["data"] == trained.expected


def triton_inputs(trained: Trained, binary: bool) -> list:
    import tritonclient.http as httpclient

    inputs = []
    for i, column in enumerate(trained.columns):
        values = [r[i] for r in trained.rows]
        if column == "site":
            array = np.array([v.encode() for v in values], dtype=np.object_)
            tensor = httpclient.InferInput(column, [len(values)], "BYTES")
        else:
            array = np.array(values, dtype=np.float64)
            tensor = httpclient.InferInput(column, [len(values)], "FP64")
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs


@pytest.mark.parametrize("binary", [True, False], ids=["binary-tensors", "json-tensors"])
def test_tritonclient_round_trip(server: Server, trained: Trained, binary: bool) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(f"127.0.0.1:{server.port}")
    try:
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(NAME)
        meta = client.get_model_metadata(NAME)
        assert [i["name"] for i in meta["inputs"]] == trained.columns
        outputs = [httpclient.InferRequestedOutput("predict", binary_data=binary)]
        result = client.infer(NAME, triton_inputs(trained, binary), outputs=outputs)
        assert result.as_numpy("predict").tolist() == trained.expected
        default = client.infer(NAME, triton_inputs(trained, binary))  # no outputs named: binary answer
        assert default.as_numpy("predict").tolist() == trained.expected
    finally:
        client.close()


def test_tritonclient_sees_errors_as_exceptions(server: Server, trained: Trained) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(f"127.0.0.1:{server.port}")
    try:
        inputs = triton_inputs(trained, True)[1:]  # 'site' missing
        with pytest.raises(InferenceServerException):
            client.infer(NAME, inputs)
        with pytest.raises(InferenceServerException):
            client.get_model_metadata("no-such-model")
    finally:
        client.close()
