"""Artifacts through the mlflow-artifacts proxy: upload, list, download, and where they land."""

import json
import os
import struct
import uuid
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_png(width=4, height=3) -> bytes:
    """A valid RGB PNG made by hand, so the test does not depend on an image library."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(bytes([x * 60, y * 80, 128]) for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_log_and_download_artifacts(experiment, client, tmp_path):
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n")
    (src / "nested" / "b.csv").write_text("x,y\n1,2\n")
    (src / "nested" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 4)
    single = tmp_path / "model-card.md"
    single.write_text("# card\n")
    blob = tmp_path / "weights.bin"
    blob.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    png = tmp_path / "hand.png"
    png.write_bytes(tiny_png())

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(blob), artifact_path="model")
        mlflow.log_artifact(str(png), artifact_path="images")
        mlflow.log_artifacts(str(src), artifact_path="data")
        mlflow.log_dict({"lr": 0.1, "layers": [64, 32]}, "config/params.json")
        mlflow.log_dict({"name": "plinth", "n": 3}, "config/params.yaml")
        mlflow.log_text("héllo wörld", "notes/readme.txt")
    rid = run.info.run_id

    root = client.list_artifacts(rid)
    assert sorted((f.path, f.is_dir) for f in root) == [
        ("config", True), ("data", True), ("images", True), ("model", True),
        ("model-card.md", False), ("notes", True),
    ]
    assert {f.path: f.file_size for f in root if not f.is_dir} == {"model-card.md": 7}
    data = {f.path: f for f in client.list_artifacts(rid, "data")}
    assert sorted(data) == ["data/a.txt", "data/nested"]
    assert data["data/a.txt"].file_size == 6 and data["data/nested"].is_dir
    deeper = client.list_artifacts(rid, "data/nested/deeper")
    assert [(f.path, f.file_size) for f in deeper] == [("data/nested/deeper/c.bin", 1024)]
    (w,) = client.list_artifacts(rid, "model")
    assert (w.path, w.file_size) == ("model/weights.bin", blob.stat().st_size)

    out = Path(mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="data", dst_path=str(tmp_path / "dl")))
    assert tree(out) == tree(src)
    everything = Path(mlflow.artifacts.download_artifacts(run_id=rid, dst_path=str(tmp_path / "all")))
    got = tree(everything)
    assert got["model/weights.bin"] == blob.read_bytes()
    assert got["images/hand.png"] == png.read_bytes()
    assert json.loads(got["config/params.json"]) == {"lr": 0.1, "layers": [64, 32]}
    assert yaml.safe_load(got["config/params.yaml"]) == {"name": "plinth", "n": 3}
    assert got["notes/readme.txt"].decode() == "héllo wörld"
    assert len(got) == 9

    # load_dict/load_text read back through the same proxy.
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config/params.json") == {"lr": 0.1, "layers": [64, 32]}
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.txt") == "héllo wörld"


def test_figure_and_image(experiment, client, tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1, 2], [2, 1, 3])
    img = (np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5).astype(np.uint8)
    with mlflow.start_run() as run:
        mlflow.log_figure(fig, "plots/curve.png")
        mlflow.log_image(img, "images/grid.png")
    plt.close(fig)
    rid = run.info.run_id
    (f,) = client.list_artifacts(rid, "plots")
    assert f.path == "plots/curve.png" and f.file_size > 100
    p = Path(client.download_artifacts(rid, "plots/curve.png", str(tmp_path)))
    assert p.read_bytes()[:8] == PNG_MAGIC and p.stat().st_size == f.file_size
    # log_image may also write a thumbnail or metadata; the image itself must be there.
    paths = [a.path for a in client.list_artifacts(rid, "images")]
    assert "images/grid.png" in paths
    q = Path(client.download_artifacts(rid, "images/grid.png", str(tmp_path)))
    assert q.read_bytes()[:8] == PNG_MAGIC


def test_artifacts_reach_the_store(server, experiment, tmp_path):
    name = f"marker-{uuid.uuid4().hex}.txt"
    body = os.urandom(4096)
    (tmp_path / name).write_bytes(body)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / name), artifact_path="deep/dir")
    stored = server.stored_artifacts()
    hits = [k for k in stored if k.endswith("/deep/dir/" + name)]
    assert len(hits) == 1, f"{name} not found in the artifact store"
    assert stored[hits[0]] == body
    assert run.info.run_id in hits[0]  # stored under its run, not loose in the root


def test_artifact_names_with_spaces_and_unicode(experiment, client, tmp_path):
    d = tmp_path / "src"
    (d / "dir with space").mkdir(parents=True)
    (d / "dir with space" / "naïve + plus&amp.txt").write_text("ok")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(d), "odd")
    (f,) = client.list_artifacts(run.info.run_id, "odd/dir with space")
    assert f.path == "odd/dir with space/naïve + plus&amp.txt"
    p = client.download_artifacts(run.info.run_id, f.path, str(tmp_path / "dl"))
    assert Path(p).read_text() == "ok"


def test_artifact_path_traversal_is_refused(server, experiment, tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("inside", "ok.txt")
    base = server.url + "/api/2.0/mlflow-artifacts/artifacts/"
    for bad in ("%2E%2E/%2E%2E/%2E%2E/etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd",
                f"{experiment}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd"):
        r = requests.get(base + bad, timeout=10)
        assert 400 <= r.status_code < 500, (bad, r.status_code)
        assert "root:" not in r.text
        put = requests.put(base + bad.replace("passwd", "plinth-escape"), data=b"x", timeout=10)
        assert 400 <= put.status_code < 500, (bad, put.status_code)
    assert not Path("/etc/plinth-escape").exists()
    r = requests.get(server.url + "/api/2.0/mlflow-artifacts/artifacts", params={"path": "../../"}, timeout=10)
    assert 400 <= r.status_code < 500
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/ok.txt") == "inside"


def test_multipart_upload_through_the_proxy(server, experiment, client, tmp_path, monkeypatch):
    """The client's opt-in proxy multipart upload: parts are PUT back to Plinth, then completed."""
    import hashlib

    mib = 1024 * 1024
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(mib))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * mib))  # S3's smallest part
    body = os.urandom(11 * mib + 123)  # three parts, the last one short
    src = tmp_path / "big.bin"
    src.write_bytes(body)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(src), artifact_path="mp")
    (f,) = client.list_artifacts(run.info.run_id, "mp")
    assert f.path == "mp/big.bin" and f.file_size == len(body)
    got = Path(client.download_artifacts(run.info.run_id, "mp/big.bin", str(tmp_path / "dl"))).read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(body).hexdigest()
    # Nothing of the upload is left behind next to the object.
    assert [k for k in server.stored_artifacts() if "big.bin" in k and not k.endswith("/mp/big.bin")] == []
