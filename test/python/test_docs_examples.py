"""The worked examples of docs/ run and check themselves: a page that
promises code that works gets a test that runs that code."""

import importlib.util
import os

import pytest

EXAMPLES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples"))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attention_variant_example(capsys):
    example = load("attention_variant")
    assert example.main() == 0, capsys.readouterr().out


def test_attention_variant_example_detects_a_wrong_bias(monkeypatch):
    """The example's check can fail: against a reference 5% off it must."""
    example = load("attention_variant")
    reference = example.reference

    def wrong(q, k, v, do):
        o, *rest = reference(q, k, v, do)
        return (o * 1.05, *rest)

    monkeypatch.setattr(example, "reference", wrong)
    assert example.main() == 1


def test_lightning_prefill_decode_example(capsys):
    example = load("lightning_prefill_decode")
    assert example.main() == 0, capsys.readouterr().out


def test_lightning_prefill_decode_example_detects_a_wrong_decay(monkeypatch):
    """The example's check can fail: against a reference whose decay is 10%
    off it must."""
    example = load("lightning_prefill_decode")
    reference = example.reference
    monkeypatch.setattr(example, "reference", lambda q, k, v, slopes: reference(q, k, v, slopes * 1.1))
    assert example.main() == 1
