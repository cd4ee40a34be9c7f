"""Loading ``s3://`` deliveries through boto3, against a real S3 API served on 127.0.0.1 (moto)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.cli import main

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch):
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # boto3's standard chain: environment credentials and AWS_ENDPOINT_URL; nothing else.
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-value")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield boto3.client("s3")
    server.stop()


def put_cur2_delivery(s3, tmp_path: Path) -> None:
    """A CUR 2.0 export with a manifest, plus a stale file no manifest lists."""
    from ingest import sample_data

    sample = tmp_path / "sample"
    sample_data.generate(sample, cur_lines=2_000, months=1)
    s3.create_bucket(Bucket="billing")
    for path in (sample / "cur").rglob("*"):
        if path.is_file():
            key = "exports/" + path.relative_to(sample / "cur").as_posix()
            s3.upload_file(str(path), "billing", key)
    stale = next((sample / "cur").rglob("*.parquet"))
    s3.upload_file(
        str(stale), "billing", "exports/saas-cur/data/BILLING_PERIOD=2026-08/old/stale.parquet"
    )


def test_load_cur_from_s3_and_reload_is_noop(s3_endpoint, tmp_path: Path, capsys) -> None:
    put_cur2_delivery(s3_endpoint, tmp_path)
    db = str(tmp_path / "w.duckdb")
    assert main(["cur", "s3://billing/exports", "--db", db]) == 0
    out = capsys.readouterr()
    assert "export 'saas-cur'" in out.out
    assert "s3://billing/exports/saas-cur/data/BILLING_PERIOD=2026-08/" in out.err
    assert "ignoring 1 file(s) no manifest lists" in out.err
    assert "testing-secret-value" not in out.out + out.err
    assert main(["cur", "s3://billing/exports", "--db", db]) == 0
    assert "unchanged since load" in capsys.readouterr().out


def test_missing_bucket_is_a_clear_error(s3_endpoint, tmp_path: Path, capsys) -> None:
    assert main(["cur", "s3://no-such-bucket/x", "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: s3://no-such-bucket/x: S3 refused the request (NoSuchBucket)")


def test_no_credentials_is_a_clear_error_without_secrets(
    s3_endpoint, tmp_path, capsys, monkeypatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # Only the standard chain is consulted: no config files here, no instance metadata.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["cur", "s3://billing/x", "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip() == "error: s3://billing/x: no AWS credentials found (standard credential chain)"
    )


def test_profiles_hold_no_secrets() -> None:
    from ingest.tests.conftest import PROJECT_DIR

    text = (PROJECT_DIR / "profiles.yml").read_text().lower()
    for word in ("password", "secret", "token", "aws_access_key"):
        assert word not in text
