"""The OpenAPI 3.0.3 document of the service, built from the same catalogue and limits it enforces."""

from __future__ import annotations

from typing import Any

from generators import __version__
from generators.catalog import NOTE_NAMES, Catalog
from generators.service.settings import ServiceSettings
from generators.service.validation import MAX_LIST_ITEMS, MAX_SEED, MAX_TEXT_CHARS, ROLES

ARTIFACT_KINDS = {
    "mp3": "audio/mpeg",
    "midi": "audio/midi",
    "png": "image/png",
    "score": "application/json",
}
_REF = "#/components"


def _json(schema: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"{_REF}/schemas/{schema}"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def openapi_document(catalog: Catalog, settings: ServiceSettings) -> dict[str, Any]:
    retry_after = {"Retry-After": {"$ref": f"{_REF}/headers/RetryAfter"}}
    error = "Error"
    # null is read as an empty list, as the validator does
    names = {
        "type": "array",
        "nullable": True,
        "maxItems": MAX_LIST_ITEMS,
        "items": {"type": "string"},
    }
    instrument_words = sorted({p for i in catalog.instruments for p in (i.name, *i.aliases)})
    piece_request = {
        "type": "object",
        "additionalProperties": False,
        "required": ["genre"],
        "properties": {
            "genre": {
                "type": "string",
                "enum": sorted({p for g in catalog.genres for p in (g.name, *g.aliases)}),
                "description": "a genre name or alias (any letter case): "
                + ", ".join(g.name for g in catalog.genres),
            },
            "duration_s": {
                "type": "number",
                "nullable": True,
                "minimum": catalog.min_duration_s,
                "maximum": catalog.max_duration_s,
                "default": min(30, catalog.max_duration_s),
            },
            "mood": {
                "type": "string",
                "nullable": True,
                "enum": [*sorted({p for m in catalog.moods for p in (m.name, *m.aliases)}), None],
                "description": "a mood name or alias",
            },
            "key": {
                "type": "string",
                "nullable": True,
                "enum": [
                    *(f"{letter}{sign}" for letter in "CDEFGAB" for sign in ("", "#", "b")),
                    None,
                ],
                "description": "the tonic: " + ", ".join(NOTE_NAMES) + " (and enharmonics)",
            },
            "mode": {
                "type": "string",
                "nullable": True,
                "enum": [*catalog.modes, *catalog.mode_aliases, None],
                "description": "a mode or alias",
            },
            "tempo_bpm": {
                "type": "number",
                "nullable": True,
                "minimum": catalog.min_tempo_bpm,
                "maximum": catalog.max_tempo_bpm,
            },
            "instruments": {
                **names,
                "items": {"type": "string", "enum": instrument_words},
                "description": "instrument names or aliases",
            },
            "without": {
                **names,
                "items": {"type": "string", "enum": sorted({*instrument_words, *ROLES})},
                "description": "instruments or parts to leave out (" + ", ".join(ROLES) + ")",
            },
            "variant": {
                "type": "string",
                "nullable": True,
                "enum": [*sorted({v for g in catalog.genres for _, v in g.variants}), None],
                "description": "a variant of the genre (trap, boombap, ballad, …); it must belong"
                " to the genre asked for",
            },
            "seed": {"type": "integer", "nullable": True, "minimum": 0, "maximum": MAX_SEED},
            "text": {
                "type": "string",
                "nullable": True,
                "maxLength": MAX_TEXT_CHARS,
                "default": "",
            },
        },
    }
    request_properties: dict[str, Any] = piece_request["properties"]  # type: ignore[assignment]
    change_props = {
        key: value
        for key, value in request_properties.items()
        if key in ("genre", "mood", "mode", "tempo_bpm", "instruments", "without", "variant")
    }
    remix_request = {
        "type": "object",
        "additionalProperties": False,
        "required": ["source", "changes"],
        "properties": {
            "source": {
                "type": "object",
                "additionalProperties": True,
                "description": "the piece's Score as stored (the `score` artifact)",
            },
            "changes": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    **change_props,
                    "tonic": {"type": "integer", "minimum": 0, "maximum": 11, "nullable": True},
                    "tempo_factor": {
                        "type": "number",
                        "minimum": 0.5,
                        "maximum": 2.0,
                        "nullable": True,
                    },
                    "new_melody": {"type": "boolean"},
                    "new_harmony": {"type": "boolean"},
                    "duration_s": {
                        "type": "number",
                        "nullable": True,
                        "minimum": catalog.min_duration_s,
                        "maximum": catalog.max_duration_s,
                        "description": "extend the piece to this length",
                    },
                    "text": {"type": "string", "maxLength": MAX_TEXT_CHARS},
                },
            },
            "seed": {"type": "integer", "nullable": True, "minimum": 0, "maximum": MAX_SEED},
        },
    }
    import_schema = {
        "type": "object",
        "required": ["score", "summary"],
        "properties": {
            "score": {"type": "object", "additionalProperties": True},
            "summary": {"type": "object", "additionalProperties": True},
        },
    }
    piece = {
        "type": "object",
        "required": [
            "id",
            "title",
            "genre",
            "variant",
            "mood",
            "key",
            "tempo_bpm",
            "duration_s",
            "seed",
            "quality",
            "sha256",
            "artifacts",
            "timings",
        ],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "genre": {"type": "string"},
            "variant": {"type": "string", "nullable": True},
            "mood": {"type": "string"},
            "key": {"type": "string", "example": "D minor"},
            "tempo_bpm": {"type": "number"},
            "duration_s": {"type": "number"},
            "seed": {"type": "integer"},
            "quality": {"type": "object", "additionalProperties": True},
            "sha256": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "required": list(ARTIFACT_KINDS),
            },
            "artifacts": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "required": list(ARTIFACT_KINDS),
            },
            "timings": {"type": "object", "additionalProperties": {"type": "number"}},
            "fingerprint": {
                "type": "string",
                "nullable": True,
                "description": "Chromaprint fingerprint of the audio (compressed, base64), "
                "so that re-encoded or trimmed copies can be identified later",
            },
        },
    }
    named = {
        "type": "object",
        "required": ["name", "aliases", "description"],
        "properties": {
            "name": {"type": "string"},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "description": {"type": "string"},
        },
    }
    limits = {
        "type": "object",
        "required": ["min", "max"],
        "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
    }
    catalog_schema = {
        "type": "object",
        "required": [
            "genres",
            "moods",
            "modes",
            "keys",
            "instruments",
            "duration_s",
            "tempo_bpm",
        ],
        "properties": {
            "genres": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "aliases", "tempo_range", "variants", "description"],
                    "properties": {
                        **named["properties"],  # type: ignore[dict-item]
                        "tempo_range": {
                            "type": "array",
                            "items": {"type": "integer"},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                        "variants": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "moods": {"type": "array", "items": named},
            "modes": {"type": "array", "items": {"type": "string"}},
            "keys": {"type": "array", "items": {"type": "string"}},
            "instruments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "aliases", "family"],
                    "properties": {
                        "name": {"type": "string"},
                        "aliases": {"type": "array", "items": {"type": "string"}},
                        "family": {"type": "string"},
                    },
                },
            },
            "duration_s": limits,
            "tempo_bpm": limits,
        },
    }
    error_schema = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "bad_request",
                            "not_found",
                            "method_not_allowed",
                            "payload_too_large",
                            "unsupported_media_type",
                            "queue_full",
                            "timeout",
                            "worker_crashed",
                            "shutting_down",
                            "internal",
                        ],
                    },
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "allowed": {"type": "array", "items": {}},
                },
            }
        },
    }
    health = {
        "type": "object",
        "required": ["status", "workers", "ready"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "starting", "degraded"]},
            "workers": {"type": "integer"},
            "ready": {"type": "integer"},
            "queued": {"type": "integer"},
            "in_flight": {"type": "integer"},
            "accepting": {"type": "boolean"},
        },
    }
    internal = {"500": _json(error, "an unexpected failure (never for bad input)")}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Tunesmith generator service",
            "version": __version__,
            "description": "Composes short pieces of music: MP3, MIDI, a piano-roll picture and the"
            " score. Keeps no user data; finished files can be fetched for"
            f" {settings.artifact_ttl_s / 60:g} minutes.",
        },
        "paths": {
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "ready only when every worker has a warm synth",
                    "responses": {
                        "200": _json("Health", "every worker is ready"),
                        "503": _json("Health", "starting, degraded or shutting down", retry_after),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "this document",
                    "responses": {
                        "200": {
                            "description": "the OpenAPI 3.0.3 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/v1/catalog": {
                "get": {
                    "operationId": "catalog",
                    "summary": "what can be asked for",
                    "responses": {"200": _json("Catalog", "genres, moods, keys, instruments")},
                }
            },
            "/v1/pieces": {
                "post": {
                    "operationId": "composePiece",
                    "summary": "compose, render and encode a piece",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": f"{_REF}/schemas/PieceRequest"}}
                        },
                    },
                    "responses": {
                        "201": _json("Piece", "the piece is made; fetch its files from artifacts"),
                        "400": _json(error, "bad input: the error names the field"),
                        "413": _json(error, f"body over {settings.max_body_bytes} bytes"),
                        "415": _json(error, "the body is not application/json"),
                        "503": _json(
                            error, "queue_full, worker_crashed or shutting_down", retry_after
                        ),
                        "504": _json(error, "the job ran over its time limit"),
                        **internal,
                    },
                }
            },
            "/v1/remixes": {
                "post": {
                    "operationId": "remixPiece",
                    "summary": "remix a stored piece's score: restyle, key, mood, tempo,"
                    " instruments, a new melody or new chords, a longer length",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": f"{_REF}/schemas/RemixRequest"}}
                        },
                    },
                    "responses": {
                        "201": _json("Piece", "the remix is made; fetch its files from artifacts"),
                        "400": _json(error, "bad input: the error names the field"),
                        "413": _json(error, f"body over {settings.max_source_bytes} bytes"),
                        "415": _json(error, "the body is not application/json"),
                        "503": _json(
                            error, "queue_full, worker_crashed or shutting_down", retry_after
                        ),
                        "504": _json(error, "the job ran over its time limit"),
                        **internal,
                    },
                }
            },
            "/v1/imports": {
                "post": {
                    "operationId": "importMidi",
                    "summary": "read an uploaded MIDI file's melody and harmony into a score, in"
                    " a separate process with time and memory limits",
                    "parameters": [
                        {
                            "name": "title",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 100},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "description": "the MIDI file's bytes, sent as audio/midi (or"
                        " application/octet-stream)",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json("Import", "the score, ready to send to /v1/remixes"),
                        "400": _json(error, "the file is not a MIDI file we can read, and why"),
                        "413": _json(error, f"file over {settings.max_midi_bytes} bytes"),
                        "503": _json(error, "shutting_down", retry_after),
                        **internal,
                    },
                }
            },
            "/v1/pieces/{id}/{kind}": {
                "get": {
                    "operationId": "pieceArtifact",
                    "summary": "one file of a piece",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "kind",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": list(ARTIFACT_KINDS)},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the file's bytes",
                            "content": {
                                content_type: {
                                    "schema": {"type": "object", "additionalProperties": True}
                                    if content_type == "application/json"  # the Score as JSON
                                    else {"type": "string", "format": "binary"}
                                }
                                for content_type in ARTIFACT_KINDS.values()
                            },
                        },
                        "404": _json(error, "unknown or expired piece, or unknown kind"),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "PieceRequest": piece_request,
                "RemixRequest": remix_request,
                "Import": import_schema,
                "Piece": piece,
                "Catalog": catalog_schema,
                "Error": error_schema,
                "Health": health,
            },
            "headers": {
                "RetryAfter": {
                    "description": "seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        },
    }
