"""The OpenAPI 3.1 document, generated from the endpoint registry and the pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streamsrv import __version__
from streamsrv.errors import CODES
from streamsrv.http import REGISTRY, EndpointDoc, json_response

_PARAM = re.compile(r"{([a-zA-Z_]+)(?::[a-z]+)?}")
REF = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode="serialization")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _input_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _operation(doc: EndpointDoc, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": doc.summary,
        "tags": [doc.tag],
        "operationId": f"{doc.method.lower()}_{doc.path}",
    }
    params: list[dict[str, Any]] = []
    for name in _PARAM.findall(doc.path):
        is_int = f"{{{name}:int}}" in doc.path
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer"} if is_int else {"type": "string"},
            }
        )
    if doc.query is not None:
        qschema = doc.query.model_json_schema(ref_template=REF)
        required = set(qschema.get("required", []))
        for name, prop in qschema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if params:
        op["parameters"] = params
    if doc.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _input_schema(doc.body, components)}},
        }
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "OK"}
    if doc.response is not None:
        ref = _schema(doc.response, components)
        schema = (
            {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": ref},
                    "next_cursor": {"type": ["string", "null"]},
                },
            }
            if doc.response_list
            else ref
        )
        ok["content"] = {doc.content_type: {"schema": schema}}
    responses[str(doc.status)] = ok
    for status, description in doc.extra_responses.items():
        extra: dict[str, Any] = {"description": description}
        if "content" in ok and 200 <= status < 300:
            extra["content"] = ok["content"]
        responses[str(status)] = extra
    errors = set(doc.errors)
    if doc.body is not None:
        errors |= {400, 413, 422}
    if doc.query is not None or _PARAM.search(doc.path):
        errors |= {422} if doc.query is not None else set()
    if doc.auth == "apikey":
        errors |= {401, 403}
    for status in sorted(errors):
        responses[str(status)] = {
            "description": CODES.get(status, "error"),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
    op["responses"] = responses
    if doc.auth == "apikey":
        op["security"] = [{"bearer": []}, {"session": []}]
    else:
        op["security"] = []
    return op


def build_spec() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for doc in REGISTRY:
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", doc.path)
        paths.setdefault(path, {})[doc.method.lower()] = _operation(doc, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "streamsrv API",
            "version": __version__,
            "description": "Real-time customer feedback for contact centers. See docs/api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key: ssk_..."},
                "session": {"type": "apiKey", "in": "cookie", "name": "streamsrv_session"},
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    spec = getattr(request.app.state, "openapi_spec", None)
    if spec is None:
        spec = request.app.state.openapi_spec = build_spec()
    return json_response(spec)


routes = [Route("/api/v1/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)]
