"""Prompts, targets and the never-raising completion parser."""

from __future__ import annotations

import dataclasses

import pytest

from emorl.lalm.prompts import (
    ParsedCompletion,
    answer_label,
    answer_words,
    instruction,
    parse_completion,
    render_target,
)

MINI = ("angry", "fear", "happy", "neutral", "sad", "surprise")
SECTIONS = {"content": '"I lost my job."', "acoustics": "low pitch, slow rate.", "summary": "Sad."}
ESR = (
    '<think><content>"I lost my job."</content><acoustics>low pitch, slow rate.</acoustics>'
    "<summary>Sad.</summary></think><answer>sad</answer>"
)


def test_instruction_lists_the_labels_and_the_format():
    text = instruction("emo", "esr", MINI)
    assert "angry, fear, happy, neutral, sad, surprise" in text
    assert "<content>" in text and "<answer>" in text
    assert "<think>" not in instruction("ov", "answer")
    assert "commas" in instruction("ov", "answer")
    with pytest.raises(ValueError, match="label set"):
        instruction("emo", "answer")
    with pytest.raises(ValueError, match="unknown task 'asr'"):
        instruction("asr", "answer")
    with pytest.raises(ValueError, match="unknown output format 'json'"):
        instruction("cap", "json")


def test_render_target_in_each_format():
    assert render_target("answer", "sad") == "<answer>sad</answer>"
    assert render_target("think", "sad", SECTIONS) == (
        '<think>"I lost my job." low pitch, slow rate. Sad.</think><answer>sad</answer>'
    )
    assert render_target("think", "sad", think="It sounds low.") == (
        "<think>It sounds low.</think><answer>sad</answer>"
    )
    assert render_target("esr", "sad", SECTIONS) == ESR
    assert render_target("answer", ["joy", " relief ", ""]) == "<answer>joy, relief</answer>"


def test_render_target_empty_content_is_allowed():
    target = render_target("esr", "neutral", dict(SECTIONS, content=""))
    assert "<content></content>" in target
    parsed = parse_completion(target, "esr")
    assert parsed.format_valid and parsed.sections["content"] == ""


def test_render_target_refuses_what_would_not_parse():
    with pytest.raises(ValueError, match="empty answer"):
        render_target("answer", " ")
    with pytest.raises(ValueError, match="format tag"):
        render_target("answer", "sad</answer>")
    with pytest.raises(ValueError, match="missing \\['summary'\\]"):
        render_target("esr", "sad", {"content": "", "acoustics": "low"})
    with pytest.raises(ValueError, match="empty \\['acoustics'\\]"):
        render_target("esr", "sad", dict(SECTIONS, acoustics=" "))
    with pytest.raises(ValueError, match="spans several lines"):
        render_target("answer", "sad\nhappy")


@pytest.mark.parametrize("fmt", ["answer", "think", "esr"])
def test_rendered_targets_parse_back(fmt):
    target = render_target(fmt, "happy", SECTIONS)
    parsed = parse_completion(target, fmt)
    assert parsed.format_valid and parsed.answer == "happy"
    if fmt == "esr":
        assert parsed.sections == {k: v.strip() for k, v in SECTIONS.items()}


def test_parsed_completion_is_frozen_with_the_shared_attributes():
    parsed = parse_completion(ESR, "esr")
    assert [f.name for f in dataclasses.fields(ParsedCompletion)] == [
        "answer",
        "think",
        "sections",
        "format_valid",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.answer = "happy"


def test_valid_esr():
    parsed = parse_completion(ESR, "esr")
    assert parsed == ParsedCompletion(
        answer="sad",
        think=ESR[len("<think>") : ESR.index("</think>")],
        sections={
            "content": '"I lost my job."',
            "acoustics": "low pitch, slow rate.",
            "summary": "Sad.",
        },
        format_valid=True,
    )


def test_whitespace_between_and_around_tags_is_valid():
    text = (
        "\n <think>\n <content> hi </content>\n<acoustics>low</acoustics> <summary>sad</summary>"
        "\n</think>\n<answer> sad </answer>\n"
    )
    parsed = parse_completion(text, "esr")
    assert parsed.format_valid and parsed.answer == "sad" and parsed.sections["content"] == "hi"


@pytest.mark.parametrize(
    "text, fmt, answer, valid",
    [
        ("<answer>happy</answer>", "answer", "happy", True),
        ("<think>bright voice</think><answer>happy</answer>", "think", "happy", True),
        # a valid completion of another format
        ("<answer>happy</answer>", "esr", "happy", False),
        ("<think>x</think><answer>happy</answer>", "answer", "happy", False),
        # partial: a section missing, an empty section, an empty think or answer
        (
            "<think><content>a</content><summary>s</summary></think><answer>sad</answer>",
            "esr",
            "sad",
            False,
        ),
        (
            "<think><content>a</content><acoustics> </acoustics><summary>s</summary></think>"
            "<answer>sad</answer>",
            "esr",
            "sad",
            False,
        ),
        ("<think> </think><answer>sad</answer>", "think", "sad", False),
        ("<answer>  </answer>", "answer", None, False),
        # truncated: no closing tag
        ("<think>the pitch is hi", "think", None, False),
        ("<think>low</think><answer>sa", "think", None, False),
        ("<answer>happy", "answer", None, False),
        # extra text around the tags
        ("Sure! <answer>happy</answer>", "answer", "happy", False),
        ("<answer>happy</answer> Hope this helps.", "answer", "happy", False),
        # repeated tags: the last answer counts, the format is invalid
        ("<answer>happy</answer><answer>sad</answer>", "answer", "sad", False),
        ("<answer>happy</answer><answer>sad", "answer", "happy", False),
        # case and spaces inside the brackets: read, but not the canonical format
        ("<ANSWER>Happy</ANSWER>", "answer", "Happy", False),
        ("< answer >happy</ answer >", "answer", "happy", False),
        # an answer inside the think block is reasoning, not the answer
        ("<think>maybe <answer>sad</answer></think>", "think", None, False),
        # garbage and empty
        ("happy", "answer", None, False),
        ("</answer>happy<answer>", "answer", None, False),
        ("<<<>>> </think> ]]", "esr", None, False),
        ("", "esr", None, False),
        ("   \n", "answer", None, False),
        (None, "answer", None, False),
    ],
)
def test_parser_cases(text, fmt, answer, valid):
    parsed = parse_completion(text, fmt)
    assert (parsed.answer, parsed.format_valid) == (answer, valid)


def test_truncated_think_has_no_think_and_no_sections():
    parsed = parse_completion("<think><content>hello</content><acoustics>lo", "esr")
    assert parsed.think is None
    assert parsed.sections == {"content": "hello"}
    assert not parsed.format_valid


def test_sections_are_read_inside_the_last_think():
    text = (
        "<think><summary>first</summary></think><think><summary>second</summary>"
        "<summary>third</summary></think><answer>sad</answer>"
    )
    parsed = parse_completion(text, "esr")
    assert parsed.think == "<summary>second</summary><summary>third</summary>"
    assert parsed.sections == {"summary": "third"}


def test_nested_or_foreign_tags_make_think_invalid():
    parsed = parse_completion(ESR, "think")  # ESR sections inside a free think
    assert parsed.answer == "sad" and not parsed.format_valid


def test_unknown_format_is_a_configuration_error():
    with pytest.raises(ValueError, match="unknown output format"):
        parse_completion("<answer>a</answer>", "xml")


@pytest.mark.parametrize(
    "answer, label",
    [
        ("happy", "happy"),
        ("  Happy. ", "happy"),
        ("HAPPINESS", "happy"),
        ("joy", "happy"),
        ("anger!", "angry"),
        ("Angry", "angry"),
        ("the speaker sounds sad", "sad"),
        ("scared", "fear"),
        ("surprised", "surprise"),
        ("happy or sad", None),  # two classes: ambiguous
        ("bored", None),
        ("", None),
        (None, None),
        ("...", None),
        ("excited", None),  # not in the mini label set
        ("not happy", "happy"),  # negation is not understood (documented)
    ],
)
def test_answer_label(answer, label):
    assert answer_label(answer, MINI) == label


def test_answer_label_follows_the_label_set():
    iemocap6 = ("angry", "excited", "frustrated", "happy", "neutral", "sad")
    assert answer_label("excitement", iemocap6) == "excited"
    assert answer_label("Frustration", iemocap6) == "frustrated"
    assert answer_label("no emotion", iemocap6) == "neutral"
    assert answer_label("worry", ("neutral", "worried")) == "worried"
    assert answer_label("Worried", ("neutral", "worried")) == "worried"


def test_answer_words():
    assert answer_words("Happy, excited; relieved and Calm.") == [
        "happy",
        "excited",
        "relieved",
        "calm",
    ]
    assert answer_words("sad, Sad , sad") == ["sad"]
    assert answer_words("mildly annoyed / tired") == ["mildly annoyed", "tired"]
    assert answer_words(" , ;") == []
    assert answer_words(None) == []
