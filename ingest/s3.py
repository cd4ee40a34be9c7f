"""Fetch an ``s3://bucket/prefix`` delivery to a local folder with boto3.

DuckDB's httpfs extension cannot be installed offline, so objects are downloaded with boto3,
which uses the standard credential chain and honours ``AWS_ENDPOINT_URL``. Credentials are never
logged. Each object's ETag becomes its fingerprint, so an unchanged delivery is recognised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ingest.load.files import is_supported
from ingest.load.spec import LoadError

log = logging.getLogger(__name__)


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` → (``bucket``, ``a/b``)."""
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise LoadError(f"{uri}: not an s3://bucket/prefix URI")
    return bucket, prefix


def download(
    uri: str, target: Path, progress: Callable[[str], None] | None = None
) -> dict[Path, str]:
    """Download every CUR/FOCUS object and manifest below ``uri``; return path → ETag."""
    import boto3
    import botocore.exceptions

    say = progress or (lambda _m: None)
    bucket, prefix = split_uri(uri)
    # A fresh session per load: the credential chain is resolved now, not cached from an
    # earlier call in the same process (rotated or revoked credentials must not linger).
    client = boto3.session.Session().client("s3")
    etags: dict[Path, str] = {}
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [
            (obj["Key"], obj["ETag"], obj["Size"])
            for page in pages
            for obj in page.get("Contents", [])
            if is_supported(Path(obj["Key"])) or obj["Key"].lower().endswith("manifest.json")
        ]
        if not keys:
            raise LoadError(f"{uri}: no CUR/FOCUS objects found under this prefix")
        for n, (key, etag, size) in enumerate(keys, 1):
            local = target / key[len(prefix) :].lstrip("/") if prefix else target / key
            if local == target:
                local = target / Path(key).name
            local.parent.mkdir(parents=True, exist_ok=True)
            say(f"[{n}/{len(keys)}] downloading s3://{bucket}/{key} ({size:,} bytes)")
            client.download_file(bucket, key, str(local))
            etags[local] = f"{Path(key).name}:{etag}"
    except botocore.exceptions.NoCredentialsError:
        raise LoadError(f"{uri}: no AWS credentials found (standard credential chain)") from None
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise LoadError(f"{uri}: S3 refused the request ({code})") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise LoadError(f"{uri}: cannot reach S3 ({type(exc).__name__})") from None
    return etags
