"""The hostile-input table: bad files, bad options and dangerous paths for every command.

Each :class:`Case` is one ``impasto`` command line run in an empty temporary folder holding only
the fixtures it names (:mod:`tests.hostile.fixtures`; names that appear in the argv are prepared
automatically). Every case must end with the expected exit status, one stderr line starting
``impasto: error:`` that contains ``message`` (case-insensitive), no new files or folders, no
existing file changed, within the time and memory limits of :mod:`tests.hostile.test_hostile`.

To add a case, add a row to the table of its command (:func:`_table` reads the rows). A case that
fails today names a key of :data:`KNOWN` in ``xfail=KEY`` (it runs as a strict xfail: when the cause is
fixed the test fails until the key is removed, so fixes are noticed).
"""

from __future__ import annotations

from dataclasses import dataclass

# causes that make cases fail today, each with the cases it explains (xfail=KEY); delete a key once fixed.
# Empty since phase 2 of issue 13: every case is asserted
KNOWN: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    message: str
    status: int = 2
    files: tuple[str, ...] = ()
    xfail: str | None = None
    needs_nonroot: bool = False


# argv pieces the tables name as {NAME}
PARTS = {
    # a run that would succeed quickly if a check were missing: tiny, one step, one level
    "QUICK": "--image-size 32 --steps 1 --multiscale off -q",
    "IO": "c.png s.png -o out.png",
    "LITE": "-m starry-night-lite",
    "FT": "--style s.png --data photos -o run --steps 1 --crop 32 --batch-size 1",
    "CG": "photos photos2 -o g.pt --steps 1 --crop 32 --load-size 32 --ngf 4 --ndf 4",
    "GRID": "--size 32 --steps 1 --ratios 1e-3 --style-depths 1",
    "RECON": "--size 32 --steps 1 --style-depths 1 --content-layers conv1_2",
    "BIG30": str(10**30),
    "BIG70": str(2**70),
}


def _table(id_prefix: str, argv_prefix: str, rows: str) -> list[Case]:
    """The cases of ``rows``, one a line: ``ID | ARGV | MESSAGE``, then optionally ``| nonroot`` (the case
    needs a non-root user) and ``| xfail=KEY``; lines starting ``#`` are comments. The case's id is
    ``id_prefix-ID``, its command line ``argv_prefix ARGV`` with ``{NAME}`` standing for ``PARTS[NAME]``."""
    cases = []
    for line in rows.strip().splitlines():
        if line.strip().startswith("#"):
            continue
        id, argv, message, *flags = (part.strip() for part in line.split("|"))
        options = dict(flag.partition("=")[::2] for flag in flags)
        command = f"{argv_prefix} {argv.format(**PARTS)}".split()
        cases.append(
            Case(
                f"{id_prefix}-{id}",
                tuple(command),
                message,
                xfail=options.get("xfail"),
                needs_nonroot="nonroot" in options,
            )
        )
    return cases


STYLIZE = _table(
    "stylize",
    "stylize",
    """
    # bad files
    missing-content            | nope.png s.png -o out.png {QUICK}                            | no such file
    empty-style-jpg            | c.png empty.jpg -o out.png {QUICK}                           | empty
    truncated-png              | trunc.png s.png -o out.png {QUICK}                           | trunc.png
    truncated-jpg              | c.png trunc.jpg -o out.png {QUICK}                           | trunc.jpg
    text-as-jpg                | text.jpg s.png -o out.png {QUICK}                            | not a recognised image
    directory-content          | adir.jpg s.png -o out.png {QUICK}                            | directory
    bomb-content               | bomb.png s.png -o out.png {QUICK}                            | decompression bomb
    1x1-content                | tiny.png s.png -o out.png {QUICK}                            | 16 px
    thin-content               | thin.png s.png -o out.png {QUICK}                            | 16 px
    animated-gif               | anim.gif s.png -o out.png {QUICK}                            | frames
    fifo-content               | fifo.png s.png -o out.png {QUICK}                            | fifo.png
    one-bad-of-two-styles      | c.png s.png text.jpg -o out.png {QUICK}                      | text.jpg
    unreadable-content         | noperm.png s.png -o out.png {QUICK}                          | permission | nonroot
    missing-mask               | {IO} --style-mask nope.png {QUICK}                           | no such file
    black-mask                 | {IO} --style-mask black.png {QUICK}                          | all black
    mask-aspect                | {IO} --style-mask wide.png {QUICK}                           | aspect
    two-masks-one-style        | {IO} --style-mask none none {QUICK}                          | one mask per style
    init-image-missing         | {IO} --init image --init-image nope.png {QUICK}              | no such file
    init-image-without-path    | {IO} --init image {QUICK}                                    | init_image
    init-image-ignored         | {IO} --init-image nope.png {QUICK}                           | init
    weights-missing            | {IO} --weights nope.pth {QUICK}                              | nope.pth
    weights-text               | {IO} --weights text.pt {QUICK}                               | text.pt
    # bad options
    size-zero                  | {IO} --image-size 0 --steps 1                                | image_size
    size-text                  | {IO} --image-size abc                                        | invalid int
    size-1e9                   | {IO} --image-size 1000000000 --steps 1                       | --image-size
    size-huge                  | {IO} --image-size {BIG30} --steps 1                          | far beyond
    steps-zero                 | {IO} --steps 0                                               | steps
    steps-nan                  | {IO} --steps nan                                             | invalid int
    old-num-iter-zero          | {IO} --num-iterations 0                                      | steps
    lr-nan                     | {IO} --lr nan {QUICK}                                        | lr
    old-learning-rate-nan      | {IO} --learning-rate nan {QUICK}                             | lr
    content-weight-nan         | {IO} --content-weight nan {QUICK}                            | content_weight
    style-weight-1e35          | {IO} --style-weight 1e35 {QUICK}                             | style_weight
    weights-both-zero          | {IO} --content-weight 0 --style-weight 0 {QUICK}             | nothing to optimise
    tv-weight-negative         | {IO} --tv-weight -1 {QUICK}                                  | tv_weight
    style-scale-zero           | {IO} --style-scale 0 {QUICK}                                 | style_scale
    style-scale-1e6            | {IO} --style-scale 1000000 {QUICK}                           | style scale
    scale-factor-one           | {IO} --scale-factor 1 --steps 1                              | scale_factor
    scale-factor-near-one      | {IO} --scale-factor 1.000000000001 --multiscale on --steps 1 | scale_factor
    min-scale-zero             | {IO} --min-scale 0 --steps 1                                 | min_scale
    fine-steps-ratio-zero      | {IO} --fine-steps-ratio 0 --steps 1                          | fine_steps_ratio
    tile-size-10               | {IO} --tile-size 10 {QUICK}                                  | tile_size
    max-memory-tiny            | {IO} --max-memory 0.0001 {QUICK}                             | needs about
    lbfgs-history-zero         | {IO} --lbfgs-history 0 {QUICK}                               | lbfgs_history
    seed-2-70                  | {IO} --seed {BIG70} {QUICK}                                  | seed
    unknown-optimizer          | {IO} --optimizer sgd                                         | invalid choice
    unknown-recompute          | {IO} --recompute sometimes                                   | invalid choice
    unknown-layer              | {IO} --content-layers relu9_9 {QUICK}                        | relu9_9
    layer-weights-text         | {IO} --style-layer-weights a b {QUICK}                       | numbers
    blend-count                | {IO} --style-blend 0.5 0.5 {QUICK}                           | style_blend_weights
    blend-all-zero             | c.png s.png s.png -o out.png --style-blend 0 0 {QUICK}       | style_blend_weights
    device-unknown             | {IO} --device tpu {QUICK}                                    | device
    device-missing-cuda        | {IO} --device cuda:7 {QUICK}                                 | cuda
    print-iter-negative        | {IO} --print-iter -1 {QUICK}                                 | print-iter
    unknown-flag               | {IO} --bogus 3                                               | unrecognized arguments
    no-arguments               |                                                              | required
    # paths
    output-is-content          | c.png s.png -o c.png {QUICK}                                 | is an input
    output-is-style            | c.png s.png -o s.png {QUICK}                                 | is an input
    output-symlink-to-content  | c.png s.png -o link.png {QUICK}                              | is an input
    output-hardlink-of-content | c.png s.png -o hard.png {QUICK}                              | is an input
    output-dotdot-content      | c.png s.png -o emptydir/../c.png {QUICK}                     | is an input
    output-is-mask             | c.png s.png -o mask.png --style-mask mask.png {QUICK}        | is an input
    output-gif                 | c.png s.png -o out.gif {QUICK}                               | unsupported extension
    output-no-extension        | c.png s.png -o out {QUICK}                                   | no extension
    output-missing-folder      | c.png s.png -o nofolder/out.png {QUICK}                      | does not exist
    output-is-folder           | c.png s.png -o photos {QUICK}                                | photos
    output-unwritable          | c.png s.png -o ro/out.png {QUICK}                            | not writable | nonroot
""",
)

FAST_APPLY = _table(
    "fast-apply",
    "fast apply",
    """
    missing-input                 | {LITE} nope.png -o out.png                      | not found
    empty-file                    | {LITE} empty.png -o out.png                     | empty
    truncated-png                 | {LITE} trunc.png -o out.png                     | trunc.png
    text-as-jpg                   | {LITE} text.jpg -o out.png                      | not a recognised image
    bomb                          | {LITE} bomb.png -o out.png                      | decompression bomb
    fifo                          | {LITE} fifo.png -o out.png                      | fifo.png
    folder-of-text                | {LITE} junkdir -o outdir                        | no images
    folder-all-bad                | {LITE} badonly -o outdir                        | x.png
    two-bad-files                 | {LITE} text.jpg trunc.png -o outdir -q          | 2 of 2
    two-bad-fail-fast             | {LITE} text.jpg trunc.png -o outdir --fail-fast | text.jpg
    output-is-input               | {LITE} c.png -o c.png                           | is an input
    output-symlink-to-input       | {LITE} c.png -o link.png                        | is an input
    output-folder-is-input-folder | {LITE} photos -o photos                         | input folder
    output-folder-inside-input    | {LITE} photos -o photos/styled                  | inside the input folder
    output-folder-link-to-input   | {LITE} photos -o photolink                      | input folder
    file-over-input-in-folder     | {LITE} photos/p1.png -o photos                  | is an input
    many-into-file                | {LITE} c.png s.png -o out.png                   | output folder
    output-missing-folder         | {LITE} c.png -o nofolder/out.png                | does not exist
    output-gif                    | {LITE} c.png -o out.gif                         | unsupported extension
    suffix-gif                    | {LITE} photos -o outdir --suffix .gif           | suffix
    unknown-model                 | -m nosuch c.png -o out.png                      | nosuch
    text-model                    | -m text.pt c.png -o out.png                     | text.pt
    no-image                      | c.png -o out.png                                | give a model
    batch-size-zero               | {LITE} c.png -o out.png --batch-size 0          | batch_size
    batch-size-negative           | {LITE} c.png -o out.png --batch-size -1         | batch_size
    max-size-zero                 | {LITE} c.png -o out.png --max-size 0            | max_size
    unknown-engine                | {LITE} c.png -o out.png --engine tensorrt       | invalid choice
    missing-output                | {LITE} c.png                                    | required
""",
)

FAST_TRAIN = _table(
    "fast-train",
    "fast train",
    """
    missing-style           | --style nope.png --data photos -o run --steps 1         | no such file
    text-style              | --style text.jpg --data photos -o run --steps 1         | not a recognised
    missing-data            | --style s.png --data nope -o run --steps 1              | not found
    empty-data              | --style s.png --data emptydir -o run --steps 1          | no images
    data-is-file            | --style s.png --data c.png -o run --steps 1             | c.png
    corrupt-data            | --style s.png --data badonly -o run --steps 1 --crop 32 | x.png
    missing-style-flag      | --data photos -o run                                    | style
    steps-zero              | {FT} --steps 0                                          | steps
    lr-nan                  | {FT} --lr nan                                           | lr
    batch-zero              | {FT} --batch-size 0                                     | batch_size
    crop-zero               | {FT} --crop 0                                           | crop
    crop-min-over-crop      | {FT} --crop-min 64                                      | crop
    width-zero              | {FT} --width 0                                          | width
    style-weight-nan        | {FT} --style-weight nan                                 | style_weight
    unknown-layer           | {FT} --content-layers relu9_9                           | relu9_9
    seed-2-70               | {FT} --seed {BIG70}                                     | seed
    unknown-precision       | {FT} --precision fp8                                    | invalid choice
    output-is-file          | --style s.png --data photos -o afile --steps 1          | afile
    output-is-data          | --style s.png --data photos -o photos --steps 1         | input folder
    resume-nothing          | {FT} --resume                                           | checkpoint
    init-from-missing       | {FT} --init-from nope.pt                                | nope.pt
    teacher-text            | {FT} --teacher text.pt                                  | text.pt
    teacher-weight-negative | {FT} --teacher m.pt --teacher-weight -1                 | teacher_weight
""",
)

FAST_EXPORT = _table(
    "fast-export",
    "fast export",
    """
    unknown-model       | nosuch out.onnx         | nosuch
    unknown-model-pt    | nosuch out.pt           | nosuch
    text-model          | text.pt out.pt          | text.pt
    bad-extension       | m.pt out.txt            | .onnx or .pt
    missing-folder      | m.pt nofolder/out.pt    | does not exist
    missing-folder-onnx | m.pt nofolder/out.onnx  | nofolder
    onto-itself         | m.pt m.pt               | is an input
    onto-symlinked-self | link.png out.pt         | link.png
    opset-zero          | m.pt out.onnx --opset 0 | opset
    output-is-folder    | m.pt emptydir           | .onnx or .pt
""",
)

CYCLEGAN_TRAIN = _table(
    "cyclegan-train",
    "cyclegan train",
    """
    missing-a             | nope photos2 -o g.pt --steps 1            | nope
    empty-b               | photos emptydir -o g.pt --steps 1         | no images
    a-is-file             | c.png photos2 -o g.pt --steps 1           | c.png
    corrupt-a             | badonly photos2 -o g.pt --steps 1         | x.png
    steps-zero            | {CG} --steps 0                            | steps
    batch-zero            | {CG} --batch-size 0                       | batch_size
    crop-zero             | {CG} --crop 0                             | crop
    ngf-zero              | {CG} --ngf 0                              | ngf
    blocks-negative       | {CG} --n-blocks -1                        | n_blocks
    lambda-nan            | {CG} --lambda-cycle nan                   | lambda_cycle
    beta-two              | {CG} --beta 2                             | beta
    seed-2-70             | {CG} --seed {BIG70}                       | seed
    output-exists         | photos photos2 -o afile --steps 1         | exists
    output-missing-folder | photos photos2 -o nofolder/g.pt --steps 1 | nofolder
    output-is-folder      | photos photos2 -o emptydir --steps 1      | emptydir
    output-is-an-image    | photos photos2 -o photos/p1.png --steps 1 | photos/p1.png
    resume-missing        | photos photos2 -o g.pt --resume --steps 1 | g.pt
    samples-is-file       | {CG} --samples afile                      | afile
""",
)

CYCLEGAN_APPLY = _table(
    "cyclegan-apply",
    "cyclegan apply",
    """
    missing-checkpoint     | nope.pth c.png -o out.png                      | nope.pth
    text-checkpoint        | text.pt c.png -o out.png                       | text.pt
    checkpoint-is-folder   | emptydir c.png -o out.png                      | emptydir
    checkpoint-is-image    | c.png s.png -o out.png                         | c.png
    fast-model             | m.pt c.png -o out.png                          | m.pt
    1-input-channel        | g1in.pth c.png -o out.png                      | channel
    4-output-channels      | g4out.pth c.png -o out.png                     | channel
    missing-image          | g.pth nope.png -o out.png                      | not found
    text-image             | text.pt text.jpg -o out.png                    | text
    output-is-input        | g.pth c.png -o c.png                           | is an input
    output-symlink         | g.pth c.png -o link.png                        | is an input
    output-folder-is-input | g.pth photos -o photos                         | input folder
    output-folder-inside   | g.pth photos -o photos/out                     | inside the input folder
    many-into-file         | g.pth c.png s.png -o out.png                   | output folder
    output-gif             | g.pth c.png -o out.gif                         | unsupported extension
    output-missing-folder  | g.pth c.png -o nofolder/out.png                | does not exist
    size-zero              | g.pth c.png -o out.png --image-size 0          | image-size
    size-huge              | g.pth c.png -o out.png --image-size 1000000000 | image-size
    direction              | g.pth c.png -o out.png --direction sideways    | invalid choice
    direction-foreign      | g.pth c.png -o out.png --direction BtoA        | direction
""",
)

EVALUATE = _table(
    "evaluate",
    "evaluate",
    """
    missing-content      | nope.png s.png r.png                         | no such file
    missing-result       | c.png s.png nope.png                         | no such file
    text-result          | c.png s.png text.jpg                         | not a recognised
    truncated-style      | c.png trunc.jpg r.png                        | trunc.jpg
    24px-result          | c.png s.png small24.png                      | small24.png
    size-100000          | c.png s.png r.png --image-size 100000        | image-size
    size-10              | c.png s.png r.png --image-size 10            | image-size
    sheet-gif            | c.png s.png r.png --sheet out.gif            | unsupported extension
    sheet-missing-folder | c.png s.png r.png --sheet nofolder/sheet.png | does not exist
    sheet-is-content     | c.png s.png r.png --sheet c.png              | is an input
    sheet-is-result      | c.png s.png r.png --sheet r.png              | is an input
    weights-missing      | c.png s.png r.png --weights nope.pth         | nope.pth
    device               | c.png s.png r.png --device tpu               | device
    no-results           | c.png s.png                                  | required
""",
)

FIGURE = [
    *_table(
        "figure-grid",
        "figure grid",
        """
        missing-content   | nope.png s.png -o fig.png                       | no such file
        text-style        | c.png text.jpg -o fig.png                       | not a recognised
        output-gif        | c.png s.png -o fig.gif                          | unsupported extension
        output-is-content | c.png s.png -o c.png {GRID}                     | is an input
        size-zero         | c.png s.png -o fig.png {GRID} --size 0          | size
        steps-zero        | c.png s.png -o fig.png {GRID} --steps 0         | steps
        ratio-nan         | c.png s.png -o fig.png {GRID} --ratios nan      | ratio
        depth-nine        | c.png s.png -o fig.png {GRID} --style-depths 9  | depth
        cache-is-file     | c.png s.png -o fig.png {GRID} --cache-dir afile | afile
    """,
    ),
    *_table(
        "figure-reconstructions",
        "figure reconstructions",
        """
        bad-layer       | c.png s.png -o fig.png {RECON} --content-layers relu9_9 | relu9_9
        output-is-style | c.png s.png -o s.png {RECON}                            | is an input
        seed-2-70       | c.png s.png -o fig.png {RECON} --seed {BIG70}           | seed
    """,
    ),
    *_table(
        "figure",
        "figure",
        """
        losses-size-zero         | losses c.png s.png -o fig.png --image-size 0 --steps 1 | image_size
        losses-result-is-content | losses c.png s.png -o fig.png --result c.png {QUICK}   | is an input
        no-kind                  |                                                        | figure
    """,
    ),
]

VIDEO = _table(
    "video",
    "video",
    """
    output-is-input       | clip.mp4 -o clip.mp4 -q                                                     | is an input
    text-input            | notes.mp4 -o out.mp4 -q                                                     | notes.mp4
    missing-input         | nope.mp4 -o out.mp4 -q                                                      | not found
    output-gif            | clip.mp4 -o out.gif -q                                                      | extension
    output-missing-folder | clip.mp4 -o nofolder/out.mp4 -q                                             | does not exist
    wct-without-style     | clip.mp4 -o out.mp4 -q --method wct                                         | style
    size-huge             | clip.mp4 -o out.mp4 -q --image-size 1000000000                              | image-size
    gatys-size-huge       | clip.mp4 -o out.mp4 -q --method gatys --style s.png --image-size 1000000000 | image-size
    stabilize-two         | clip.mp4 -o out.mp4 -q --stabilize 2                                        | stabilize
    crf-99                | clip.mp4 -o out.mp4 -q --crf 99                                             | crf
    batch-size-zero       | clip.mp4 -o out.mp4 -q --batch-size 0                                       | batch-size
    unknown-model         | clip.mp4 -o out.mp4 -q -m nosuch                                            | nosuch
    seed-2-70             | clip.mp4 -o out.mp4 -q --method gatys --style s.png --seed {BIG70}          | seed
    work-dir-is-file      | clip.mp4 -o out.mp4 -q --work-dir afile                                     | afile
    unknown-codec         | clip.mp4 -o out.mp4 -q --codec nosuchcodec                                  | codec
""",
)

EVALUATE_VIDEO = _table(
    "evaluate-video",
    "evaluate-video",
    """
    every-zero    | clip.mp4 clip.mp4 --every 0                          | every
    text-output   | clip.mp4 notes.mp4                                   | notes.mp4
    missing-input | nope.mp4 clip.mp4                                    | not found
    size-huge     | clip.mp4 clip.mp4 --style s.png --image-size 1000000 | image-size
    missing-style | clip.mp4 clip.mp4 --style nope.png                   | no such file
    no-output     | clip.mp4                                             | required
""",
)

AUGMENT = _table(
    "augment",
    "augment",
    """
    output-is-input     | photos -o photos -q                | input folder
    output-inside-input | photos -o photos/aug -q            | inside the input folder
    missing-input       | nope -o out -q                     | not found
    empty-input         | emptydir -o out -q                 | no images
    seed-2-70           | photos -o out -q --seed {BIG70}    | 64 bits
    output-is-file      | photos -o afile -q                 | afile
    copies-zero         | photos -o out --copies 0 -q        | copies
    strength-two        | photos -o out --strength 2 -q      | strength
    unknown-method      | photos -o out --method nosuch -q   | invalid choice
    missing-style       | photos -o out --styles nope.png -q | nope.png
    no-arguments        | -q                                 | IN_DIR
""",
)

DECODERS = _table(
    "decoders",
    "decoders",
    """
    eval-text-checkpoint | eval text.pt --images c.png                                      | not a PyTorch file
    eval-missing         | eval nope.pt --images c.png                                      | nope.pt
    export-text          | export text.pt out.pt                                            | text.pt
    export-not-a-decoder | export m.pt out.pt                                               | not an impasto decoder
    train-output-is-file | train --data photos -o afile --steps 1                           | afile
    train-output-is-data | train --data photos -o photos --steps 1 --crop 32 --batch-size 1 | input folder
    train-missing-data   | train --data nope -o run --steps 1                               | nope
    train-steps-zero     | train --data photos -o run --steps 0                             | steps
    train-unknown-level  | train --data photos -o run --level relu9_1                       | invalid choice
    no-action            |                                                                  | action
""",
)

SERVE_STUDY = [
    *_table(
        "serve",
        "serve",
        """
        port-out-of-range | --port 70000   | port
        workers-zero      | --workers 0    | workers
        queue-zero        | --queue-size 0 | queue-size
        data-is-file      | --data afile   | afile
    """,
    ),
    *_table(
        "study",
        "study",
        """
        report-missing-data   | report --data nope      | no studio data
        report-not-a-database | report --data badstudio | not a studio database
        no-action             |                         | action
    """,
    ),
]

TOP = _table(
    "top",
    "",
    """
    unknown-command    | paint c.png | invalid choice
    no-command         |             | command
    fast-no-action     | fast        | action
    cyclegan-no-action | cyclegan    | action
""",
)

CASES: list[Case] = [
    *STYLIZE,
    *FAST_APPLY,
    *FAST_TRAIN,
    *FAST_EXPORT,
    *CYCLEGAN_TRAIN,
    *CYCLEGAN_APPLY,
    *EVALUATE,
    *FIGURE,
    *VIDEO,
    *EVALUATE_VIDEO,
    *AUGMENT,
    *DECODERS,
    *SERVE_STUDY,
    *TOP,
]
