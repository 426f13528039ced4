"""Repair a Kaldi data dir: sort every table and keep only the utterances present in all of them.

Utterances missing from any utterance table (utt2spk, wav.scp or segments, text, utt2emo, ...) are
dropped, as are recordings no longer used; spk2utt is rebuilt. What was dropped is reported with the
file that lacked it. The original tables are kept in <data_dir>/.backup/, other files are left as
they are, and the result is validated and written atomically. A dir that needs no change is not
touched.

Usage:
    python -m emorl.bin.fix_data_dir data/train
    utils/fix_data_dir.sh data/train
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from emorl import cli
from emorl.atomic import atomic_dir
from emorl.data.datadir import UTT_TABLES, DataDir, DataDirError, read_table, validate

#: The tables of a data dir, by file name (spk2utt is derived from utt2spk).
TABLES = ("wav.scp", "utt2spk", "segments") + UTT_TABLES


def _examples(keys: set[str]) -> str:
    return ", ".join(sorted(keys)[:3]) + (", ..." if len(keys) > 3 else "")


def fix(data: DataDir) -> tuple[DataDir, list[str]]:
    """The utterances (and recordings) common to all tables of ``data``, and why others went."""
    # tables() lists wav.scp, utt2spk, segments, then the others; wav.scp is keyed by recording
    # when there are segments
    by_utt = {n: t for n, t in data.tables().items() if n != "wav.scp" or data.segments is None}
    everything = set().union(*by_utt.values())
    keep = set.intersection(*(set(table) for table in by_utt.values()))
    report = []
    for name, table in by_utt.items():
        missing = everything - set(table)
        if missing:
            report.append(f"{len(missing)} not in {name} ({_examples(missing)})")
    if data.segments is not None:
        orphans = {u for u in keep if data.segments[u].split()[0] not in data.wav_scp}
        if orphans:
            report.append(
                f"{len(orphans)} whose recording is not in wav.scp ({_examples(orphans)})"
            )
        keep -= orphans
    if not keep:
        raise DataDirError(f"{data.path}: no utterance is in all of {', '.join(by_utt)}")
    fixed = data.subset(keep)
    lines = []
    if len(keep) < len(everything):
        lines.append(
            f"kept {len(keep)} of {len(everything)} utterances; dropped "
            f"{len(everything) - len(keep)}: " + "; ".join(report)
        )
    unused = set(data.wav_scp) - set(fixed.wav_scp)
    if data.segments is not None and unused:
        lines.append(f"dropped {len(unused)} recordings of wav.scp used by no kept utterance")
    return fixed, lines


def _text(table: dict[str, str]) -> str:
    """A table as write_table writes it (to tell whether a file would change)."""
    return "".join(f"{key} {table[key]}\n" for key in sorted(table))


def main(argv=None) -> None:
    parser = cli.get_parser(__doc__)
    parser.add_argument("data_dir", type=Path, help="the data directory, fixed in place")
    args = cli.parse_args(parser, argv)
    path = args.data_dir
    try:
        if not path.is_dir():
            raise DataDirError(f"{path}: data directory does not exist")
        tables = {}
        for name in TABLES:
            if name in ("wav.scp", "utt2spk") or (path / name).exists():
                tables[name.replace(".", "_")] = read_table(path / name, check_sorted=False)
        fixed, lines = fix(DataDir(**tables, path=path))
        new = {name: _text(table) for name, table in fixed.tables().items()}
        new["spk2utt"] = _text(fixed.spk2utt)
        present = [name for name in new if (path / name).exists()]
        changed = [
            name
            for name in new
            if name not in present or (path / name).read_bytes() != new[name].encode()
        ]
        validate(fixed, where=str(path))
        if not changed:
            print(f"fix_data_dir: {path}: nothing to fix ({len(fixed.utt2spk)} utterances)")
            return
        with atomic_dir(path) as tmp:
            fixed.write(tmp)
            (tmp / ".backup").mkdir()
            for name in present:
                shutil.copy2(path / name, tmp / ".backup" / name)
            for entry in path.iterdir():  # files the tables do not cover stay as they are
                if entry.name in new or entry.name == ".backup":
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, tmp / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, tmp / entry.name, follow_symlinks=False)
    except DataDirError as e:
        print(f"fix_data_dir: {e}", file=sys.stderr)
        sys.exit(1)
    for line in lines:
        print(f"fix_data_dir: {path}: {line}")
    print(
        f"fix_data_dir: {path}: rewrote {', '.join(changed)}; the originals are in {path}/.backup"
    )


if __name__ == "__main__":
    main()
