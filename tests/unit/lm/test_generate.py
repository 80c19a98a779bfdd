"""Generation: the book's greedy predict_ch8, seeded sampling, top-k, unknown prefixes, no <unk> output."""

from __future__ import annotations

import warnings

import pytest
import torch

from seqpipe.models.rnn_lm import build_lm
from seqpipe.text.vocab import Vocab
from seqpipe.train.generate import generate

VOCAB = Vocab.from_tokens(list("the time traveller was expounding a recondite matter to us"))


def book_predict(prefix, num_preds, net, vocab):
    """d2l 2.0 `predict_ch8`: warm up one token at a time, then append the argmax."""
    state = net.begin_state(batch_size=1)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]]).reshape((1, 1))
    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join(vocab.idx_to_token[i] for i in outputs)


@pytest.fixture
def net():
    torch.manual_seed(0)
    model = build_lm("lstm", len(VOCAB), hidden=32).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(8)  # a confident random model: long, varied greedy text
        model.linear.bias[0] = -100.0  # the book's argmax never picks <unk> here either
    return model


def test_greedy_is_the_books_predict(net):
    ours = generate(net, VOCAB, "time traveller", 50)
    assert len(ours) == 64 and ours.startswith("time traveller")
    assert ours == book_predict("time traveller", 50, net, VOCAB)


def test_sampling_is_seeded_and_top_1_is_greedy(net):
    a = generate(net, VOCAB, "the", 40, temperature=1.0, seed=1)
    assert a == generate(net, VOCAB, "the", 40, temperature=1.0, seed=1)
    assert len({generate(net, VOCAB, "the", 40, temperature=1.5, seed=s) for s in range(4)}) > 1
    assert generate(net, VOCAB, "the", 40, temperature=0.7, top_k=1, seed=5) == generate(
        net, VOCAB, "the", 40
    )


def test_unknown_prefix_characters_read_as_unk_with_a_warning(net):
    with pytest.warns(UserWarning, match=r"read as <unk>: 'T', 'Z'"):
        text = generate(net, VOCAB, "The Zeta", 10)
    assert text.startswith("The Zeta") and len(text) == 18
    with pytest.raises(ValueError, match="empty"):
        generate(net, VOCAB, "", 5)


def test_unk_is_never_generated():
    model = build_lm("gru", len(VOCAB), hidden=4).eval()
    with torch.no_grad():
        model.linear.bias[0] = 100.0  # <unk> would win every argmax
    for temperature in (0.0, 1.0):
        assert "<unk>" not in generate(model, VOCAB, "the", 30, temperature=temperature)


def test_word_level_output_is_space_joined():
    vocab = Vocab.from_tokens(["the", "time", "traveller", "said", "the", "time"])
    model = build_lm("rnn", len(vocab), hidden=4)
    words = generate(model, vocab, "the time", 3, unit="word").split(" ")
    assert words[:2] == ["the", "time"] and len(words) == 5 and all(w in vocab for w in words)


def test_the_prefix_is_normalized_as_the_training_text(net):
    # issue 14 row 3: 'The Time Traveller' on a d2l model read 'T' as <unk>
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = generate(net, VOCAB, "The Time Traveller", 10, normalize="d2l")
    assert text.startswith("The Time Traveller") and len(text) == 28
    assert text == "The Time Traveller" + generate(net, VOCAB, "the time traveller", 10)[18:]
