"""A deliberately bad ClientApp for the deployment tests (shipped inside the test's Flower app).

It wraps the real ``participant_node.client_app`` and, on nodes whose node config has
``hostile="ROUND:MODE,ROUND:MODE"``, tampers with the real reply in that round:

- ``fingerprint``: claims another key's fingerprint;
- ``count``: drops the last ciphertext;
- ``range``: replaces the first ciphertext by ``n^2`` or more (all bytes 0xFF);
- ``replay``: sends the (honest) reply it produced in the previous round instead;
- ``oversize``: adds an 8 MB array to the reply;
- ``slow<S>``: sleeps S seconds after training (a straggler), once per node.

Nodes without ``hostile`` behave exactly like the real app.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from participant_node import client_app as real

app = ClientApp()


def _mode(context: Context, server_round: int) -> str:
    plan = str(context.node_config.get("hostile", "") or "")
    for item in plan.split(","):
        rnd, _, mode = item.partition(":")
        if rnd.strip() == str(server_round):
            return mode.strip()
    return ""


def _state_dir(context: Context) -> Path:
    d = Path(str(context.node_config["hostile-dir"]))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _save(reply: Message, directory: Path, server_round: int) -> None:
    arrays = reply.content.array_records[real.ARRAYS_KEY]
    np.savez(directory / f"r{server_round}.npz", **{k: a.numpy() for k, a in arrays.items()})
    meta = dict(reply.content.config_records[real.META_KEY])
    (directory / f"r{server_round}.json").write_text(json.dumps(meta))


def _replayed(msg: Message, directory: Path, server_round: int) -> Message:
    with np.load(directory / f"r{server_round - 1}.npz") as z:
        arrays = ArrayRecord({k: Array(z[k]) for k in z.files})
    meta = ConfigRecord(json.loads((directory / f"r{server_round - 1}.json").read_text()))
    return Message(content=RecordDict({real.ARRAYS_KEY: arrays, real.META_KEY: meta}), reply_to=msg)


@app.train()
def train(msg: Message, context: Context) -> Message:
    """The real train, then the tampering planned for this round."""
    server_round = int(str(msg.content.config_records["config"].get("server-round", 0)))
    mode = _mode(context, server_round)
    reply = real.train(msg, context)
    if not str(context.node_config.get("hostile", "")):
        return reply
    state = _state_dir(context)
    if mode == "replay":
        return _replayed(msg, state, server_round)
    _save(reply, state, server_round)
    content = reply.content
    meta = content.config_records[real.META_KEY]
    cts = content.array_records[real.ARRAYS_KEY]["ciphertexts"].numpy()
    if mode == "fingerprint":
        meta["fingerprint"] = "sha256:" + "0" * 64
    elif mode == "count":
        content.array_records[real.ARRAYS_KEY] = ArrayRecord({"ciphertexts": Array(cts[:-1])})
    elif mode == "range":
        bad = cts.copy()
        bad[0] = 0xFF
        content.array_records[real.ARRAYS_KEY] = ArrayRecord({"ciphertexts": Array(bad)})
    elif mode == "oversize":
        content.array_records["padding"] = ArrayRecord(
            {"pad": Array(np.zeros(8 * 2**20, dtype=np.uint8))}
        )
    elif mode.startswith("slow"):
        marker = state / f"slept-{server_round}"
        if not marker.exists():
            marker.write_text("1")
            time.sleep(float(mode.removeprefix("slow")))
    return reply


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Evaluation is never tampered with."""
    return real.evaluate(msg, context)
