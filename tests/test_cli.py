"""Shared entry-point plumbing: yaml configs with overrides, saved configs, atomic writes."""

import os

import pytest
import yaml

from emorl import cli
from emorl.atomic import atomic_dir, atomic_write


def make_parser():
    parser = cli.get_parser("test")
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--name", default="x")
    parser.add_argument("--flag", type=cli.str2bool, default=False)
    return parser


def test_yaml_values_then_command_line_overrides(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("lr: 0.5\nname: fromyaml\n")
    args = cli.parse_args(make_parser(), ["--config", str(conf), "--name", "cli", "--flag", "true"])
    assert (args.lr, args.name, args.flag) == (0.5, "cli", True)


def test_unknown_yaml_key_names_the_file(tmp_path, capsys):
    conf = tmp_path / "c.yaml"
    conf.write_text("lr: 0.5\nlearning_rate: 2\n")
    with pytest.raises(SystemExit):
        cli.parse_args(make_parser(), ["--config", str(conf)])
    assert f"--config {conf}: unknown options ['learning_rate']" in capsys.readouterr().err


def test_save_config_round_trips(tmp_path):
    args = cli.parse_args(make_parser(), ["--lr", "3"])
    cli.save_config(args, tmp_path / "config.yaml")
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == {
        "lr": 3.0,
        "name": "x",
        "flag": False,
    }


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_dir_replaces_whole_or_nothing(tmp_path):
    target = tmp_path / "d"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    with atomic_dir(target) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_atomic_outputs_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f") as f:
            f.write("x")
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(umask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("lr: fast\n", "option lr: invalid value 'fast'"),
        ("lr: [1, 2]\n", "option lr: expected one value, got [1, 2]"),
        ("flag: maybe\n", "option flag: invalid value 'maybe' (expected true or false"),
        ("mode: c\n", "option mode: 'c' is not one of a, b"),
        ("seeds: [1, x]\n", "option seeds: invalid value 'x'"),
        ("lr: [1\n", "not valid yaml"),
    ],
)
def test_bad_yaml_value_names_the_file_and_option(tmp_path, capsys, yaml_text, message):
    parser = make_parser()
    parser.add_argument("--mode", choices=("a", "b"), default="a")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml_text)
    with pytest.raises(SystemExit):
        cli.parse_args(parser, ["--config", str(conf)])
    assert f"--config {conf}: {message}" in capsys.readouterr().err


def test_yaml_values_are_converted_like_the_command_line(tmp_path):
    parser = make_parser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--rewards", default={"a": 1.0})
    conf = tmp_path / "c.yaml"
    conf.write_text("lr: 1e-4\nflag: true\nseeds: [1, 2]\nrewards: {b: 2}\n")
    args = cli.parse_args(parser, ["--config", str(conf)])
    assert (args.lr, args.flag, args.seeds, args.rewards) == (1e-4, True, [1, 2], {"b": 2})
    args = cli.parse_args(parser, ["--config", str(conf), "--seeds", "5"])
    assert args.seeds == [5]
