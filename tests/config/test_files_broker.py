"""The file broker of `make run`: a worker never sees a message half-written."""

import os

from kombu import Connection

from config import files_broker


def test_a_message_is_renamed_into_place_whole_and_read_back(tmp_path, monkeypatch):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "store_processed": False}
    renamed = []
    real_replace = os.replace

    def replace(src, dst):
        # Written in full under a name no queue reads; the queue's name appears only with the rename.
        assert src.endswith(".partial") and os.path.getsize(src) > 0 and not os.path.exists(dst)
        renamed.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(files_broker.os, "replace", replace)
    with Connection(transport=files_broker.Transport, transport_options=options) as conn:
        queue = conn.SimpleQueue("work")
        queue.put({"n": 1})
        queue.put({"n": 2})
        assert len(renamed) == 2 and all(name.endswith(".work.msg") for name in renamed)
        got = [queue.get(timeout=1) for _ in range(2)]
        assert sorted(m.payload["n"] for m in got) == [1, 2]
        for message in got:
            message.ack()
        queue.close()
    assert not [name for name in os.listdir(tmp_path) if name.endswith((".msg", ".partial"))]


def test_make_run_uses_it_when_there_is_no_redis(settings):
    if settings.CELERY_BROKER_URL == "filesystem://":
        assert settings.CELERY_BROKER_TRANSPORT == "config.files_broker:Transport"
