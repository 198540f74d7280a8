"""Open Inference Protocol (KServe V2) over HTTP, with Triton's binary tensor extension.

Inputs come either as one named tensor per signature column (shape ``[n]`` or
``[n, 1]``) or as one 2-D tensor ``[n, columns]`` in signature order. String
columns travel as ``BYTES``. A body may carry tensor bytes after its JSON header
(header ``Inference-Header-Content-Length``), as tritonclient sends by default,
and the answer is binary when the request asks for it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, malformed, schema_error
from .jsonio import dumps, loads
from .validate import Frame, Schema

OUTPUT_NAME = "predict"
_SIGNATURE_TO_V2 = {"double": "FP64", "long": "INT64", "boolean": "BOOL", "string": "BYTES", "datetime": "BYTES"}
_NUMPY = {"BOOL": "bool", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1",
          "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}
_ACCEPTS = {
    "double": {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"},
    "long": {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"},
    "boolean": {"BOOL"},
    "string": {"BYTES"},
    "datetime": {"BYTES"},
}


@dataclass(frozen=True)
class InferRequest:
    frame: Frame
    id: str | None
    binary_output: bool


def model_metadata(name: str, version: int, schema: Schema, output: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [str(version)],
        "platform": "sklearn",
        "inputs": [{"name": c.name, "datatype": _SIGNATURE_TO_V2[c.dtype], "shape": [-1, 1]} for c in schema.columns],
        "outputs": [{"name": OUTPUT_NAME, "datatype": output_datatype(output), "shape": [-1]}],
    }


def output_datatype(output: Mapping[str, Any]) -> str:
    if output.get("type") == "class":
        classes = output.get("classes") or []
        if classes and all(isinstance(c, bool) for c in classes):
            return "BOOL"
        if classes and all(isinstance(c, int) for c in classes):
            return "INT64"
        if classes and all(isinstance(c, (int, float)) for c in classes):
            return "FP64"
        return "BYTES"
    return "FP64"


def parse_infer(body: bytes, header_length: str | None, schema: Schema) -> InferRequest:
    """Parse an infer request body; ``header_length`` is Inference-Header-Content-Length, if sent."""
    binary = b""
    if header_length is not None:
        try:
            size = int(header_length)
        except ValueError:
            raise malformed(f"Inference-Header-Content-Length {header_length!r} is not a number.") from None
        if not 0 <= size <= len(body):
            raise malformed(f"Inference-Header-Content-Length {size} is outside the body ({len(body)} bytes).")
        body, binary = body[:size], body[size:]
    try:
        payload = loads(body)
    except ValueError as exc:
        raise malformed(f"the body is not valid JSON ({exc}).") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise malformed('an inference request is an object with a non-empty "inputs" list of tensors '
                        '({"name", "shape", "datatype", "data"}).')
    tensors = _read_tensors(payload["inputs"], binary)
    frame = _frame(tensors, schema)
    request_id = payload.get("id")
    return InferRequest(frame, str(request_id) if request_id is not None else None, _wants_binary(payload))


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


def _read_tensors(inputs: Sequence[Any], binary: bytes) -> list[_Tensor]:
    offset = 0
    tensors = []
    for i, raw in enumerate(inputs):
        if not isinstance(raw, dict):
            raise malformed(f"inputs[{i}] must be a tensor object.")
        name, shape, datatype = raw.get("name"), raw.get("shape"), raw.get("datatype")
        if not isinstance(name, str) or not isinstance(datatype, str):
            raise malformed(f"inputs[{i}] needs a string name and datatype.")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise malformed(f"input {name!r}: shape must be a list of non-negative integers.")
        datatype = datatype.upper()
        count = 1
        for d in shape:
            count *= d
        parameters = raw.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is not None:
            if type(size) is not int or size < 0 or offset + size > len(binary):
                raise malformed(f"input {name!r}: binary_data_size {size!r} does not fit the binary body.")
            data = _decode_binary(name, datatype, binary[offset:offset + size], count)
            offset += size
        else:
            if "data" not in raw:
                raise malformed(f"input {name!r} has no data.")
            data = _flatten(raw["data"])
        if len(data) != count:
            raise schema_error("WRONG_SHAPE", f"input {name!r}: shape {shape} needs {count} values, got {len(data)}.")
        tensors.append(_Tensor(name, shape, datatype, data))
    return tensors


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if not data or not isinstance(data[0], list):
        if any(isinstance(v, list) for v in data):
            raise schema_error("WRONG_SHAPE", "tensor data is ragged (rows of different depths).")
        return data
    out: list[Any] = []
    for item in data:
        out.extend(_flatten(item))
    return out


def _decode_binary(name: str, datatype: str, raw: bytes, count: int) -> list[Any]:
    if datatype == "BYTES":
        values: list[Any] = []
        pos = 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise malformed(f"input {name!r}: truncated BYTES element.")
            (length,) = struct.unpack_from("<I", raw, pos)
            pos += 4
            if pos + length > len(raw):
                raise malformed(f"input {name!r}: truncated BYTES element.")
            values.append(raw[pos:pos + length])
            pos += length
        return values
    if datatype not in _NUMPY:
        raise schema_error("WRONG_DTYPE", f"input {name!r}: datatype {datatype} is not a V2 tensor type.")
    import numpy as np

    itemsize = np.dtype(_NUMPY[datatype]).itemsize
    if len(raw) != count * itemsize:
        raise schema_error("WRONG_SHAPE", f"input {name!r}: {len(raw)} bytes do not hold {count} {datatype} values.")
    decoded: list[Any] = np.frombuffer(raw, dtype=_NUMPY[datatype]).tolist()
    return decoded


def _frame(tensors: list[_Tensor], schema: Schema) -> Frame:
    width = len(schema.columns)
    if len(tensors) == 1 and (tensors[0].name not in schema.index or width > 1) and len(tensors[0].shape) == 2:
        tensor = tensors[0]
        rows, cols = tensor.shape
        if cols != width:
            raise schema_error("WRONG_SHAPE", f"input {tensor.name!r} has {cols} columns; the model takes {width} "
                               f"({', '.join(schema.names)}), or send one tensor per column.")
        text = tensor.datatype == "BYTES"
        for column in schema.columns:
            if not text and tensor.datatype not in _ACCEPTS[column.dtype]:
                raise schema_error("WRONG_DTYPE", f"input {tensor.name!r} is {tensor.datatype}, but column "
                                   f"{column.name!r} is {column.dtype}; send BYTES or one tensor per column.")
        data = tensor.data
        row_lists = [data[r * cols:(r + 1) * cols] for r in range(rows)]
        if text:
            row_lists = [[_text(v) for v in row] for row in row_lists]
        return schema.from_rows(None, row_lists, text=text)
    by_name: dict[str, list[Any]] = {}
    for tensor in tensors:
        if tensor.name in by_name:
            raise schema_error("DUPLICATE_COLUMN", f"input {tensor.name!r} is given twice.")
        column_type = schema.columns[schema.index[tensor.name]].dtype if tensor.name in schema.index else None
        if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise schema_error("WRONG_SHAPE", f"input {tensor.name!r} has shape {tensor.shape}; a column tensor "
                               "has shape [n] or [n, 1].")
        if column_type is not None and tensor.datatype not in _ACCEPTS[column_type]:
            raise schema_error("WRONG_DTYPE", f"input {tensor.name!r} is {tensor.datatype}, but the signature says "
                               f"{column_type} (send {_SIGNATURE_TO_V2[column_type]}).")
        by_name[tensor.name] = [_text(v) for v in tensor.data] if tensor.datatype == "BYTES" else tensor.data
    return schema.from_columns(by_name)


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise schema_error("WRONG_DTYPE", "a BYTES element is not UTF-8 text.") from None
    return value


def _wants_binary(payload: Mapping[str, Any]) -> bool:
    parameters = payload.get("parameters")
    if isinstance(parameters, dict) and parameters.get("binary_data_output"):
        return True
    outputs = payload.get("outputs")
    if isinstance(outputs, list):
        for out in outputs:
            params = out.get("parameters") if isinstance(out, dict) else None
            if isinstance(params, dict) and params.get("binary_data"):
                return True
    return False


def infer_response(name: str, version: int, request: InferRequest, predictions: list[Any],
                   datatype: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The response body and its extra headers (binary responses carry their JSON header length)."""
    output: dict[str, Any] = {"name": OUTPUT_NAME, "datatype": datatype, "shape": [len(predictions)]}
    response: dict[str, Any] = {"model_name": name, "model_version": str(version), "outputs": [output]}
    if request.id is not None:
        response["id"] = request.id
    if not request.binary_output:
        output["data"] = predictions
        return dumps(response), [(b"content-type", b"application/json")]
    blob = _encode_binary(predictions, datatype)
    output["parameters"] = {"binary_data_size": len(blob)}
    header = dumps(response)
    return header + blob, [(b"content-type", b"application/octet-stream"),
                           (b"inference-header-content-length", str(len(header)).encode())]


def _encode_binary(values: list[Any], datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for v in values:
            raw = v if isinstance(v, bytes) else str(v).encode()
            parts.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(parts)
    import numpy as np

    return np.asarray(values, dtype=_NUMPY[datatype]).tobytes()


def not_found(name: str, served: str) -> ApiError:
    return ApiError(404, "MODEL_NOT_FOUND", f"no model {name!r} here; this server serves {served!r}.")
