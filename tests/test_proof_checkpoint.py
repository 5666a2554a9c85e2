"""Checkpoints, proof objects and end-to-end verification."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dunning import InputError
from dunning._audit import checkpoint as cpmod
from dunning._audit import merkle
from dunning._audit.checkpoint import Checkpoint, ConsistencyProof, FormatError, InclusionProof
from dunning._base.canonical import CanonicalizationError, canonical_bytes

TS = "2024-05-17T09:31:02Z"
REG = "ab" * 32


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {"seq": i, "decision": "remind", "amount": f"{i}.50", "who": "Müller \U0001f600"}
        for i in range(n)
    ]


class Log:
    """Minimal stand-in for the audit store: frontier + persisted nodes."""

    def __init__(self) -> None:
        self.frontier = merkle.Frontier()
        self.nodes: dict[tuple[int, int], bytes] = {}

    def append(self, record: dict[str, Any]) -> None:
        for level, index, h in self.frontier.append(merkle.leaf_hash(canonical_bytes(record))):
            self.nodes[(level, index)] = h

    def node_at(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return cpmod.generate_key()


def _log(records: list[dict[str, Any]]) -> Log:
    log = Log()
    for r in records:
        log.append(r)
    return log


# --------------------------------------------------------------------------
# Checkpoint signing
# --------------------------------------------------------------------------


def test_sign_and_verify(key: Ed25519PrivateKey) -> None:
    cp = cpmod.sign_checkpoint(3, b"\x11" * 32, TS, REG, key)
    assert cp.root_hash == "11" * 32
    assert cp.key_id == cpmod.key_id(key.public_key())
    assert len(base64.b64decode(cp.signature)) == 64
    assert cpmod.verify_checkpoint(cp, key.public_key())
    assert not cpmod.verify_checkpoint(cp, cpmod.generate_key().public_key())


def test_signed_message_is_domain_separated(key: Ed25519PrivateKey) -> None:
    cp = cpmod.sign_checkpoint(3, "11" * 32, TS, REG, key)
    body = {
        "size": 3,
        "root_hash": "11" * 32,
        "timestamp": TS,
        "registry_digest": REG,
        "key_id": cp.key_id,
    }
    assert cp.signed_message() == b"dunning-checkpoint-v1\n" + canonical_bytes(body)
    key.public_key().verify(base64.b64decode(cp.signature), cp.signed_message())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size", 4),
        ("root_hash", "12" * 32),
        ("timestamp", "2024-05-17T09:31:03Z"),
        ("registry_digest", "cd" * 32),
    ],
)
def test_tampered_field_fails(key: Ed25519PrivateKey, field: str, value: object) -> None:
    cp = cpmod.sign_checkpoint(3, "11" * 32, TS, REG, key)
    fields: dict[str, Any] = dataclasses.asdict(cp)
    fields[field] = value
    assert not cpmod.verify_checkpoint(Checkpoint(**fields), key.public_key())


def test_bad_signature_encodings(key: Ed25519PrivateKey) -> None:
    cp = cpmod.sign_checkpoint(3, "11" * 32, TS, REG, key)
    pub = key.public_key()
    sig = base64.b64decode(cp.signature)
    for bad in (
        "",
        "not base64!",
        base64.b64encode(sig[:63]).decode(),
        cp.signature.rstrip("="),
        cp.signature + "\n",
    ):
        assert not cpmod.verify_checkpoint(dataclasses.replace(cp, signature=bad), pub), bad
    flipped = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
    assert not cpmod.verify_checkpoint(dataclasses.replace(cp, signature=flipped), pub)
    # The right signature but claiming another key id.
    assert not cpmod.verify_checkpoint(dataclasses.replace(cp, key_id="00" * 32), pub)


def test_json_round_trip(key: Ed25519PrivateKey) -> None:
    cp = cpmod.sign_checkpoint(0, merkle.EMPTY_ROOT, "2024-05-17T09:31:02.123456+00:00", REG, key)
    text = cp.to_json()
    assert text.encode() == canonical_bytes(json.loads(text))  # emitted canonically
    back = Checkpoint.from_json(text)
    assert back == cp
    assert cpmod.verify_checkpoint(back, key.public_key())
    # Whitespace / key order of the input do not matter.
    pretty = json.dumps(dict(reversed(list(json.loads(text).items()))), indent=2)
    assert Checkpoint.from_json(pretty.encode()) == cp


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("signature"),
        lambda d: d.update(extra=1),
        lambda d: d.update(size=1.0),
        lambda d: d.update(size=True),
        lambda d: d.update(size=-1),
        lambda d: d.update(root_hash="AB" * 32),
        lambda d: d.update(root_hash="ab" * 31),
        lambda d: d.update(timestamp="2024-05-17T09:31:02"),
        lambda d: d.update(timestamp="2024-05-17T11:31:02+02:00"),
        lambda d: d.update(timestamp="yesterday"),
        lambda d: d.update(timestamp=0),
        lambda d: d.update(key_id=None),
        lambda d: d.update(signature=5),
    ],
)
def test_from_json_rejects(key: Ed25519PrivateKey, mutate: Any) -> None:
    d = json.loads(cpmod.sign_checkpoint(1, "11" * 32, TS, REG, key).to_json())
    mutate(d)
    with pytest.raises(FormatError):
        Checkpoint.from_json(json.dumps(d))


def test_from_json_rejects_malformed() -> None:
    for text in ("[]", "{", '{"size": 1, "size": 2}'):
        with pytest.raises(FormatError):
            Checkpoint.from_json(text)


def test_sign_validates_inputs(key: Ed25519PrivateKey) -> None:
    with pytest.raises(FormatError, match="UTC"):
        cpmod.sign_checkpoint(1, "11" * 32, "2024-05-17T09:31:02", REG, key)
    with pytest.raises(FormatError, match="root_hash"):
        cpmod.sign_checkpoint(1, b"\x11" * 31, TS, REG, key)
    with pytest.raises(FormatError, match="registry_digest"):
        cpmod.sign_checkpoint(1, "11" * 32, TS, "xyz", key)


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def test_key_round_trips(key: Ed25519PrivateKey) -> None:
    pub = key.public_key()
    raw_pub = cpmod.public_key_bytes(pub)
    assert len(raw_pub) == 32
    assert cpmod.key_id(cpmod.public_key_from_raw(raw_pub)) == cpmod.key_id(pub)
    assert cpmod.key_id(cpmod.load_public_key_pem(cpmod.public_key_to_pem(pub))) == cpmod.key_id(
        pub
    )
    for pem, pw in (
        (cpmod.private_key_to_pem(key), None),
        (cpmod.private_key_to_pem(key, b"pw"), b"pw"),
    ):
        k2 = cpmod.load_private_key_pem(pem, pw)
        assert cpmod.key_id(k2.public_key()) == cpmod.key_id(pub)
    raw_priv = key.private_bytes_raw()
    cp = cpmod.sign_checkpoint(1, "11" * 32, TS, REG, cpmod.private_key_from_raw(raw_priv))
    assert cpmod.verify_checkpoint(cp, pub)


def test_load_rejects_other_key_types() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import serialization as ser

    pem = other.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    with pytest.raises(InputError, match="Ed25519"):
        cpmod.load_private_key_pem(pem)
    pub_pem = other.public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InputError, match="Ed25519"):
        cpmod.load_public_key_pem(pub_pem)


# --------------------------------------------------------------------------
# Proof objects
# --------------------------------------------------------------------------


def test_proof_json_round_trip() -> None:
    ip = InclusionProof.from_hashes(2, 5, [b"\x01" * 32, b"\x02" * 32])
    assert InclusionProof.from_json(ip.to_json()) == ip
    assert ip.hashes() == [b"\x01" * 32, b"\x02" * 32]
    assert json.loads(ip.to_json()) == {
        "leaf_index": 2,
        "tree_size": 5,
        "path": ["01" * 32, "02" * 32],
    }
    cp = ConsistencyProof.from_hashes(3, 9, [b"\x03" * 32])
    assert ConsistencyProof.from_json(cp.to_json()) == cp
    assert ConsistencyProof(0, 0, ()).to_json() == '{"new_size":0,"old_size":0,"path":[]}'
    hash(ip)  # frozen and hashable: path is stored as a tuple
    assert InclusionProof(1, 2, ["aa" * 32]).path == ("aa" * 32,)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        '{"leaf_index": 0, "tree_size": 1}',
        '{"leaf_index": 0, "tree_size": 1, "path": "ab"}',
        '{"leaf_index": 0, "tree_size": 1, "path": ["ab"]}',
        '{"leaf_index": -1, "tree_size": 1, "path": []}',
        '{"leaf_index": 0.0, "tree_size": 1, "path": []}',
        '{"leaf_index": 0, "tree_size": 1, "path": [], "x": 1}',
    ],
)
def test_inclusion_proof_rejects(text: str) -> None:
    with pytest.raises(FormatError):
        InclusionProof.from_json(text)


# --------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------


def test_verify_inclusion_end_to_end(key: Ed25519PrivateKey) -> None:
    records = _records(23)
    log = _log(records)
    cp = cpmod.sign_checkpoint(log.frontier.size, log.frontier.root(), TS, REG, key)
    pub = key.public_key()
    for i, rec in enumerate(records):
        proof = InclusionProof.from_hashes(
            i, 23, merkle.inclusion_path_from_nodes(i, 23, log.node_at)
        )
        proof = InclusionProof.from_json(proof.to_json())
        assert cpmod.verify_inclusion(rec, proof, cp, pub)
        assert cpmod.verify_inclusion(canonical_bytes(rec), proof, cp, pub)
        assert cpmod.verify_inclusion(
            json.dumps(rec, indent=1), proof, cp, pub
        )  # any JSON spelling
        assert not cpmod.verify_inclusion({**rec, "amount": "0.00"}, proof, cp, pub)
    proof = InclusionProof.from_hashes(0, 23, merkle.inclusion_path_from_nodes(0, 23, log.node_at))
    assert not cpmod.verify_inclusion(records[1], proof, cp, pub)  # wrong record
    assert not cpmod.verify_inclusion(records[0], proof, cp, cpmod.generate_key().public_key())
    # Proof claims another tree size than the checkpoint signs.
    bad = InclusionProof(0, 24, proof.path)
    assert not cpmod.verify_inclusion(records[0], bad, cp, pub)
    with pytest.raises(FormatError):
        cpmod.verify_inclusion('{"amount": 1.5}', proof, cp, pub)
    with pytest.raises(CanonicalizationError):
        cpmod.verify_inclusion({"amount": 1.5}, proof, cp, pub)


def test_verify_consistency_end_to_end(key: Ed25519PrivateKey) -> None:
    records = _records(40)
    log, cps = Log(), {}
    pub = key.public_key()
    for n, rec in enumerate(records, start=1):
        log.append(rec)
        cps[n] = cpmod.sign_checkpoint(n, log.frontier.root(), TS, REG, key)
    cps[0] = cpmod.sign_checkpoint(0, merkle.EMPTY_ROOT, TS, REG, key)
    for old in (0, 1, 7, 16, 33, 40):
        for new in (old, 33, 40):
            if new < old:
                continue
            path = merkle.consistency_path_from_nodes(old, new, log.node_at)
            proof = ConsistencyProof.from_json(
                ConsistencyProof.from_hashes(old, new, path).to_json()
            )
            assert cpmod.verify_consistency(cps[old], cps[new], proof, pub)
    proof = ConsistencyProof.from_hashes(
        7, 40, merkle.consistency_path_from_nodes(7, 40, log.node_at)
    )
    assert not cpmod.verify_consistency(
        cps[7], cps[33], proof, pub
    )  # sizes don't match checkpoints
    assert not cpmod.verify_consistency(cps[40], cps[7], proof, pub)
    assert not cpmod.verify_consistency(cps[7], cps[40], proof, cpmod.generate_key().public_key())
    # A forked log signed by the same key is caught.
    fork = _log([*records[:6], {"seq": 6, "decision": "forged"}, *records[7:]])
    forked_cp = cpmod.sign_checkpoint(40, fork.frontier.root(), TS, REG, key)
    assert not cpmod.verify_consistency(cps[7], forked_cp, proof, pub)
    fork_proof = ConsistencyProof.from_hashes(
        7, 40, merkle.consistency_path_from_nodes(7, 40, fork.node_at)
    )
    assert not cpmod.verify_consistency(cps[7], forked_cp, fork_proof, pub)
