"""The hostile-input table: bad files, bad options and dangerous paths for every command.

Each :class:`Case` is one ``impasto`` command line run in an empty temporary folder holding only
the fixtures it names (:mod:`tests.hostile.fixtures`; names that appear in the argv are prepared
automatically). Every case must end with the expected exit status, one stderr line starting
``impasto: error:`` that contains ``message`` (case-insensitive), no new files or folders, no
existing file changed, within the time and memory limits of :mod:`tests.hostile.test_hostile`.

To add a case, append a ``Case`` to the list of its command. A case that fails today names a key
of :data:`KNOWN` in ``xfail`` (it runs as a strict xfail: when the cause is fixed the test fails
until the key is removed, so fixes are noticed).
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


def _c(id: str, argv: str | list[str], message: str, **kw) -> Case:
    return Case(id, tuple(argv.split() if isinstance(argv, str) else argv), message, **kw)


# a run that would succeed quickly if a check were missing: tiny, one step, one level
QUICK = "--image-size 32 --steps 1 --multiscale off -q"
ST = "stylize c.png s.png -o out.png"

STYLIZE = [
    # bad files
    _c("stylize-missing-content", f"stylize nope.png s.png -o out.png {QUICK}", "no such file"),
    _c("stylize-empty-style-jpg", f"stylize c.png empty.jpg -o out.png {QUICK}", "empty"),
    _c("stylize-truncated-png", f"stylize trunc.png s.png -o out.png {QUICK}", "trunc.png"),
    _c("stylize-truncated-jpg", f"stylize c.png trunc.jpg -o out.png {QUICK}", "trunc.jpg"),
    _c("stylize-text-as-jpg", f"stylize text.jpg s.png -o out.png {QUICK}", "not a recognised image"),
    _c("stylize-directory-content", f"stylize adir.jpg s.png -o out.png {QUICK}", "directory"),
    _c("stylize-bomb-content", f"stylize bomb.png s.png -o out.png {QUICK}", "decompression bomb"),
    _c("stylize-1x1-content", f"stylize tiny.png s.png -o out.png {QUICK}", "16 px"),
    _c("stylize-thin-content", f"stylize thin.png s.png -o out.png {QUICK}", "16 px"),
    _c("stylize-animated-gif", f"stylize anim.gif s.png -o out.png {QUICK}", "frames"),
    _c("stylize-fifo-content", f"stylize fifo.png s.png -o out.png {QUICK}", "fifo.png"),
    _c("stylize-one-bad-of-two-styles", f"stylize c.png s.png text.jpg -o out.png {QUICK}", "text.jpg"),
    _c("stylize-unreadable-content", f"stylize noperm.png s.png -o out.png {QUICK}", "permission", needs_nonroot=True),
    _c("stylize-missing-mask", f"stylize c.png s.png -o out.png --style-mask nope.png {QUICK}", "no such file"),
    _c("stylize-black-mask", f"stylize c.png s.png -o out.png --style-mask black.png {QUICK}", "all black"),
    _c("stylize-mask-aspect", f"stylize c.png s.png -o out.png --style-mask wide.png {QUICK}", "aspect"),
    _c(
        "stylize-two-masks-one-style",
        f"stylize c.png s.png -o out.png --style-mask none none {QUICK}",
        "one mask per style",
    ),
    _c("stylize-init-image-missing", f"{ST} --init image --init-image nope.png {QUICK}", "no such file"),
    _c("stylize-init-image-without-path", f"{ST} --init image {QUICK}", "init_image"),
    _c("stylize-init-image-ignored", f"{ST} --init-image nope.png {QUICK}", "init"),
    _c("stylize-weights-missing", f"{ST} --weights nope.pth {QUICK}", "nope.pth"),
    _c("stylize-weights-text", f"{ST} --weights text.pt {QUICK}", "text.pt"),
    # bad options
    _c("stylize-size-zero", f"{ST} --image-size 0 --steps 1", "image_size"),
    _c("stylize-size-text", f"{ST} --image-size abc", "invalid int"),
    _c("stylize-size-1e9", f"{ST} --image-size 1000000000 --steps 1", "--image-size"),
    _c("stylize-size-huge", f"{ST} --image-size {10**30} --steps 1", "far beyond"),
    _c("stylize-steps-zero", f"{ST} --steps 0", "steps"),
    _c("stylize-steps-nan", f"{ST} --steps nan", "invalid int"),
    _c("stylize-old-num-iter-zero", f"{ST} --num-iterations 0", "steps"),
    _c("stylize-lr-nan", f"{ST} --lr nan {QUICK}", "lr"),
    _c("stylize-old-learning-rate-nan", f"{ST} --learning-rate nan {QUICK}", "lr"),
    _c("stylize-content-weight-nan", f"{ST} --content-weight nan {QUICK}", "content_weight"),
    _c("stylize-style-weight-1e35", f"{ST} --style-weight 1e35 {QUICK}", "style_weight"),
    _c("stylize-weights-both-zero", f"{ST} --content-weight 0 --style-weight 0 {QUICK}", "nothing to optimise"),
    _c("stylize-tv-weight-negative", f"{ST} --tv-weight -1 {QUICK}", "tv_weight"),
    _c("stylize-style-scale-zero", f"{ST} --style-scale 0 {QUICK}", "style_scale"),
    _c("stylize-style-scale-1e6", f"{ST} --style-scale 1000000 {QUICK}", "style scale"),
    _c("stylize-scale-factor-one", f"{ST} --scale-factor 1 --steps 1", "scale_factor"),
    _c(
        "stylize-scale-factor-near-one", f"{ST} --scale-factor 1.000000000001 --multiscale on --steps 1", "scale_factor"
    ),
    _c("stylize-min-scale-zero", f"{ST} --min-scale 0 --steps 1", "min_scale"),
    _c("stylize-fine-steps-ratio-zero", f"{ST} --fine-steps-ratio 0 --steps 1", "fine_steps_ratio"),
    _c("stylize-tile-size-10", f"{ST} --tile-size 10 {QUICK}", "tile_size"),
    _c("stylize-max-memory-tiny", f"{ST} --max-memory 0.0001 {QUICK}", "needs about"),
    _c("stylize-lbfgs-history-zero", f"{ST} --lbfgs-history 0 {QUICK}", "lbfgs_history"),
    _c("stylize-seed-2-70", f"{ST} --seed {2**70} {QUICK}", "seed"),
    _c("stylize-unknown-optimizer", f"{ST} --optimizer sgd", "invalid choice"),
    _c("stylize-unknown-recompute", f"{ST} --recompute sometimes", "invalid choice"),
    _c("stylize-unknown-layer", f"{ST} --content-layers relu9_9 {QUICK}", "relu9_9"),
    _c("stylize-layer-weights-text", f"{ST} --style-layer-weights a b {QUICK}", "numbers"),
    _c("stylize-blend-count", f"{ST} --style-blend 0.5 0.5 {QUICK}", "style_blend_weights"),
    _c(
        "stylize-blend-all-zero",
        f"stylize c.png s.png s.png -o out.png --style-blend 0 0 {QUICK}",
        "style_blend_weights",
    ),
    _c("stylize-device-unknown", f"{ST} --device tpu {QUICK}", "device"),
    _c("stylize-device-missing-cuda", f"{ST} --device cuda:7 {QUICK}", "cuda"),
    _c("stylize-print-iter-negative", f"{ST} --print-iter -1 {QUICK}", "print-iter"),
    _c("stylize-unknown-flag", f"{ST} --bogus 3", "unrecognized arguments"),
    _c("stylize-no-arguments", "stylize", "required"),
    # paths
    _c("stylize-output-is-content", f"stylize c.png s.png -o c.png {QUICK}", "is an input"),
    _c("stylize-output-is-style", f"stylize c.png s.png -o s.png {QUICK}", "is an input"),
    _c("stylize-output-symlink-to-content", f"stylize c.png s.png -o link.png {QUICK}", "is an input"),
    _c("stylize-output-hardlink-of-content", f"stylize c.png s.png -o hard.png {QUICK}", "is an input"),
    _c("stylize-output-dotdot-content", f"stylize c.png s.png -o emptydir/../c.png {QUICK}", "is an input"),
    _c("stylize-output-is-mask", f"stylize c.png s.png -o mask.png --style-mask mask.png {QUICK}", "is an input"),
    _c("stylize-output-gif", f"stylize c.png s.png -o out.gif {QUICK}", "unsupported extension"),
    _c("stylize-output-no-extension", f"stylize c.png s.png -o out {QUICK}", "no extension"),
    _c("stylize-output-missing-folder", f"stylize c.png s.png -o nofolder/out.png {QUICK}", "does not exist"),
    _c("stylize-output-is-folder", f"stylize c.png s.png -o photos {QUICK}", "photos"),
    _c("stylize-output-unwritable", f"stylize c.png s.png -o ro/out.png {QUICK}", "not writable", needs_nonroot=True),
]

FA = "fast apply -m starry-night-lite"
FAST_APPLY = [
    _c("fast-apply-missing-input", f"{FA} nope.png -o out.png", "not found"),
    _c("fast-apply-empty-file", f"{FA} empty.png -o out.png", "empty"),
    _c("fast-apply-truncated-png", f"{FA} trunc.png -o out.png", "trunc.png"),
    _c("fast-apply-text-as-jpg", f"{FA} text.jpg -o out.png", "not a recognised image"),
    _c("fast-apply-bomb", f"{FA} bomb.png -o out.png", "decompression bomb"),
    _c("fast-apply-fifo", f"{FA} fifo.png -o out.png", "fifo.png"),
    _c("fast-apply-folder-of-text", f"{FA} junkdir -o outdir", "no images"),
    _c("fast-apply-folder-all-bad", f"{FA} badonly -o outdir", "x.png"),
    _c("fast-apply-two-bad-files", f"{FA} text.jpg trunc.png -o outdir -q", "2 of 2"),
    _c("fast-apply-two-bad-fail-fast", f"{FA} text.jpg trunc.png -o outdir --fail-fast", "text.jpg"),
    _c("fast-apply-output-is-input", f"{FA} c.png -o c.png", "is an input"),
    _c("fast-apply-output-symlink-to-input", f"{FA} c.png -o link.png", "is an input"),
    _c("fast-apply-output-folder-is-input-folder", f"{FA} photos -o photos", "input folder"),
    _c("fast-apply-output-folder-inside-input", f"{FA} photos -o photos/styled", "inside the input folder"),
    _c("fast-apply-output-folder-link-to-input", f"{FA} photos -o photolink", "input folder"),
    _c("fast-apply-file-over-input-in-folder", f"{FA} photos/p1.png -o photos", "is an input"),
    _c("fast-apply-many-into-file", f"{FA} c.png s.png -o out.png", "output folder"),
    _c("fast-apply-output-missing-folder", f"{FA} c.png -o nofolder/out.png", "does not exist"),
    _c("fast-apply-output-gif", f"{FA} c.png -o out.gif", "unsupported extension"),
    _c("fast-apply-suffix-gif", f"{FA} photos -o outdir --suffix .gif", "suffix"),
    _c("fast-apply-unknown-model", "fast apply -m nosuch c.png -o out.png", "nosuch"),
    _c("fast-apply-text-model", "fast apply -m text.pt c.png -o out.png", "text.pt"),
    _c("fast-apply-no-image", "fast apply c.png -o out.png", "give a model"),
    _c("fast-apply-batch-size-zero", f"{FA} c.png -o out.png --batch-size 0", "batch_size"),
    _c("fast-apply-batch-size-negative", f"{FA} c.png -o out.png --batch-size -1", "batch_size"),
    _c("fast-apply-max-size-zero", f"{FA} c.png -o out.png --max-size 0", "max_size"),
    _c("fast-apply-unknown-engine", f"{FA} c.png -o out.png --engine tensorrt", "invalid choice"),
    _c("fast-apply-missing-output", f"{FA} c.png", "required"),
]

FT = "fast train --style s.png --data photos -o run --steps 1 --crop 32 --batch-size 1"
FAST_TRAIN = [
    _c("fast-train-missing-style", "fast train --style nope.png --data photos -o run --steps 1", "no such file"),
    _c("fast-train-text-style", "fast train --style text.jpg --data photos -o run --steps 1", "not a recognised"),
    _c("fast-train-missing-data", "fast train --style s.png --data nope -o run --steps 1", "not found"),
    _c("fast-train-empty-data", "fast train --style s.png --data emptydir -o run --steps 1", "no images"),
    _c("fast-train-data-is-file", "fast train --style s.png --data c.png -o run --steps 1", "c.png"),
    _c("fast-train-corrupt-data", "fast train --style s.png --data badonly -o run --steps 1 --crop 32", "x.png"),
    _c("fast-train-missing-style-flag", "fast train --data photos -o run", "style"),
    _c("fast-train-steps-zero", f"{FT} --steps 0", "steps"),
    _c("fast-train-lr-nan", f"{FT} --lr nan", "lr"),
    _c("fast-train-batch-zero", f"{FT} --batch-size 0", "batch_size"),
    _c("fast-train-crop-zero", f"{FT} --crop 0", "crop"),
    _c("fast-train-crop-min-over-crop", f"{FT} --crop-min 64", "crop"),
    _c("fast-train-width-zero", f"{FT} --width 0", "width"),
    _c("fast-train-style-weight-nan", f"{FT} --style-weight nan", "style_weight"),
    _c("fast-train-unknown-layer", f"{FT} --content-layers relu9_9", "relu9_9"),
    _c("fast-train-seed-2-70", f"{FT} --seed {2**70}", "seed"),
    _c("fast-train-unknown-precision", f"{FT} --precision fp8", "invalid choice"),
    _c("fast-train-output-is-file", "fast train --style s.png --data photos -o afile --steps 1", "afile"),
    _c("fast-train-output-is-data", "fast train --style s.png --data photos -o photos --steps 1", "input folder"),
    _c("fast-train-resume-nothing", f"{FT} --resume", "checkpoint"),
    _c("fast-train-init-from-missing", f"{FT} --init-from nope.pt", "nope.pt"),
    _c("fast-train-teacher-text", f"{FT} --teacher text.pt", "text.pt"),
    _c("fast-train-teacher-weight-negative", f"{FT} --teacher m.pt --teacher-weight -1", "teacher_weight"),
]

FAST_EXPORT = [
    _c("fast-export-unknown-model", "fast export nosuch out.onnx", "nosuch"),
    _c("fast-export-unknown-model-pt", "fast export nosuch out.pt", "nosuch"),
    _c("fast-export-text-model", "fast export text.pt out.pt", "text.pt"),
    _c("fast-export-bad-extension", "fast export m.pt out.txt", ".onnx or .pt"),
    _c("fast-export-missing-folder", "fast export m.pt nofolder/out.pt", "does not exist"),
    _c("fast-export-missing-folder-onnx", "fast export m.pt nofolder/out.onnx", "nofolder"),
    _c("fast-export-onto-itself", "fast export m.pt m.pt", "is an input"),
    _c("fast-export-onto-symlinked-self", "fast export link.png out.pt", "link.png"),
    _c("fast-export-opset-zero", "fast export m.pt out.onnx --opset 0", "opset"),
    _c("fast-export-output-is-folder", "fast export m.pt emptydir", ".onnx or .pt"),
]

CG_TRAIN_BASE = "cyclegan train photos photos2 -o g.pt --steps 1 --crop 32 --load-size 32 --ngf 4 --ndf 4"
CYCLEGAN_TRAIN = [
    _c("cyclegan-train-missing-a", "cyclegan train nope photos2 -o g.pt --steps 1", "nope"),
    _c("cyclegan-train-empty-b", "cyclegan train photos emptydir -o g.pt --steps 1", "no images"),
    _c("cyclegan-train-a-is-file", "cyclegan train c.png photos2 -o g.pt --steps 1", "c.png"),
    _c("cyclegan-train-corrupt-a", "cyclegan train badonly photos2 -o g.pt --steps 1", "x.png"),
    _c("cyclegan-train-steps-zero", f"{CG_TRAIN_BASE} --steps 0", "steps"),
    _c("cyclegan-train-batch-zero", f"{CG_TRAIN_BASE} --batch-size 0", "batch_size"),
    _c("cyclegan-train-crop-zero", f"{CG_TRAIN_BASE} --crop 0", "crop"),
    _c("cyclegan-train-ngf-zero", f"{CG_TRAIN_BASE} --ngf 0", "ngf"),
    _c("cyclegan-train-blocks-negative", f"{CG_TRAIN_BASE} --n-blocks -1", "n_blocks"),
    _c("cyclegan-train-lambda-nan", f"{CG_TRAIN_BASE} --lambda-cycle nan", "lambda_cycle"),
    _c("cyclegan-train-beta-two", f"{CG_TRAIN_BASE} --beta 2", "beta"),
    _c("cyclegan-train-seed-2-70", f"{CG_TRAIN_BASE} --seed {2**70}", "seed"),
    _c("cyclegan-train-output-exists", "cyclegan train photos photos2 -o afile --steps 1", "exists"),
    _c("cyclegan-train-output-missing-folder", "cyclegan train photos photos2 -o nofolder/g.pt --steps 1", "nofolder"),
    _c("cyclegan-train-output-is-folder", "cyclegan train photos photos2 -o emptydir --steps 1", "emptydir"),
    _c(
        "cyclegan-train-output-is-an-image", "cyclegan train photos photos2 -o photos/p1.png --steps 1", "photos/p1.png"
    ),
    _c("cyclegan-train-resume-missing", "cyclegan train photos photos2 -o g.pt --resume --steps 1", "g.pt"),
    _c("cyclegan-train-samples-is-file", f"{CG_TRAIN_BASE} --samples afile", "afile"),
]

CA = "cyclegan apply g.pth"
CYCLEGAN_APPLY = [
    _c("cyclegan-apply-missing-checkpoint", "cyclegan apply nope.pth c.png -o out.png", "nope.pth"),
    _c("cyclegan-apply-text-checkpoint", "cyclegan apply text.pt c.png -o out.png", "text.pt"),
    _c("cyclegan-apply-checkpoint-is-folder", "cyclegan apply emptydir c.png -o out.png", "emptydir"),
    _c("cyclegan-apply-checkpoint-is-image", "cyclegan apply c.png s.png -o out.png", "c.png"),
    _c("cyclegan-apply-fast-model", "cyclegan apply m.pt c.png -o out.png", "m.pt"),
    _c("cyclegan-apply-1-input-channel", "cyclegan apply g1in.pth c.png -o out.png", "channel"),
    _c("cyclegan-apply-4-output-channels", "cyclegan apply g4out.pth c.png -o out.png", "channel"),
    _c("cyclegan-apply-missing-image", f"{CA} nope.png -o out.png", "not found"),
    _c("cyclegan-apply-text-image", "cyclegan apply text.pt text.jpg -o out.png", "text"),
    _c("cyclegan-apply-output-is-input", f"{CA} c.png -o c.png", "is an input"),
    _c("cyclegan-apply-output-symlink", f"{CA} c.png -o link.png", "is an input"),
    _c("cyclegan-apply-output-folder-is-input", f"{CA} photos -o photos", "input folder"),
    _c("cyclegan-apply-output-folder-inside", f"{CA} photos -o photos/out", "inside the input folder"),
    _c("cyclegan-apply-many-into-file", f"{CA} c.png s.png -o out.png", "output folder"),
    _c("cyclegan-apply-output-gif", f"{CA} c.png -o out.gif", "unsupported extension"),
    _c("cyclegan-apply-output-missing-folder", f"{CA} c.png -o nofolder/out.png", "does not exist"),
    _c("cyclegan-apply-size-zero", f"{CA} c.png -o out.png --image-size 0", "image-size"),
    _c("cyclegan-apply-size-huge", f"{CA} c.png -o out.png --image-size 1000000000", "image-size"),
    _c("cyclegan-apply-direction", f"{CA} c.png -o out.png --direction sideways", "invalid choice"),
    _c("cyclegan-apply-direction-foreign", f"{CA} c.png -o out.png --direction BtoA", "direction"),
]

EV = "evaluate c.png s.png r.png"
EVALUATE = [
    _c("evaluate-missing-content", "evaluate nope.png s.png r.png", "no such file"),
    _c("evaluate-missing-result", "evaluate c.png s.png nope.png", "no such file"),
    _c("evaluate-text-result", "evaluate c.png s.png text.jpg", "not a recognised"),
    _c("evaluate-truncated-style", "evaluate c.png trunc.jpg r.png", "trunc.jpg"),
    _c("evaluate-24px-result", "evaluate c.png s.png small24.png", "small24.png"),
    _c("evaluate-size-100000", f"{EV} --image-size 100000", "image-size"),
    _c("evaluate-size-10", f"{EV} --image-size 10", "image-size"),
    _c("evaluate-sheet-gif", f"{EV} --sheet out.gif", "unsupported extension"),
    _c("evaluate-sheet-missing-folder", f"{EV} --sheet nofolder/sheet.png", "does not exist"),
    _c("evaluate-sheet-is-content", f"{EV} --sheet c.png", "is an input"),
    _c("evaluate-sheet-is-result", f"{EV} --sheet r.png", "is an input"),
    _c("evaluate-weights-missing", f"{EV} --weights nope.pth", "nope.pth"),
    _c("evaluate-device", f"{EV} --device tpu", "device"),
    _c("evaluate-no-results", "evaluate c.png s.png", "required"),
]

FG = "figure grid c.png s.png -o fig.png --size 32 --steps 1 --ratios 1e-3 --style-depths 1"
FR = "figure reconstructions c.png s.png -o fig.png --size 32 --steps 1 --style-depths 1 --content-layers conv1_2"
FIGURE = [
    _c("figure-grid-missing-content", "figure grid nope.png s.png -o fig.png", "no such file"),
    _c("figure-grid-text-style", "figure grid c.png text.jpg -o fig.png", "not a recognised"),
    _c("figure-grid-output-gif", "figure grid c.png s.png -o fig.gif", "unsupported extension"),
    _c("figure-grid-output-is-content", f"{FG.replace('fig.png', 'c.png')}", "is an input"),
    _c("figure-grid-size-zero", f"{FG} --size 0", "size"),
    _c("figure-grid-steps-zero", f"{FG} --steps 0", "steps"),
    _c("figure-grid-ratio-nan", f"{FG} --ratios nan", "ratio"),
    _c("figure-grid-depth-nine", f"{FG} --style-depths 9", "depth"),
    _c("figure-grid-cache-is-file", f"{FG} --cache-dir afile", "afile"),
    _c("figure-reconstructions-bad-layer", f"{FR} --content-layers relu9_9", "relu9_9"),
    _c("figure-reconstructions-output-is-style", f"{FR.replace('fig.png', 's.png')}", "is an input"),
    _c("figure-reconstructions-seed-2-70", f"{FR} --seed {2**70}", "seed"),
    _c("figure-losses-size-zero", "figure losses c.png s.png -o fig.png --image-size 0 --steps 1", "image_size"),
    _c(
        "figure-losses-result-is-content", f"figure losses c.png s.png -o fig.png --result c.png {QUICK}", "is an input"
    ),
    _c("figure-no-kind", "figure", "figure"),
]

VI = "video clip.mp4 -o out.mp4 -q"
VIDEO = [
    _c("video-output-is-input", "video clip.mp4 -o clip.mp4 -q", "is an input"),
    _c("video-text-input", "video notes.mp4 -o out.mp4 -q", "notes.mp4"),
    _c("video-missing-input", "video nope.mp4 -o out.mp4 -q", "not found"),
    _c("video-output-gif", "video clip.mp4 -o out.gif -q", "extension"),
    _c("video-output-missing-folder", "video clip.mp4 -o nofolder/out.mp4 -q", "does not exist"),
    _c("video-wct-without-style", f"{VI} --method wct", "style"),
    _c("video-size-huge", f"{VI} --image-size 1000000000", "image-size"),
    _c("video-gatys-size-huge", f"{VI} --method gatys --style s.png --image-size 1000000000", "image-size"),
    _c("video-stabilize-two", f"{VI} --stabilize 2", "stabilize"),
    _c("video-crf-99", f"{VI} --crf 99", "crf"),
    _c("video-batch-size-zero", f"{VI} --batch-size 0", "batch-size"),
    _c("video-unknown-model", f"{VI} -m nosuch", "nosuch"),
    _c("video-seed-2-70", f"{VI} --method gatys --style s.png --seed {2**70}", "seed"),
    _c("video-work-dir-is-file", f"{VI} --work-dir afile", "afile"),
    _c("video-unknown-codec", f"{VI} --codec nosuchcodec", "codec"),
]

EVALUATE_VIDEO = [
    _c("evaluate-video-every-zero", "evaluate-video clip.mp4 clip.mp4 --every 0", "every"),
    _c("evaluate-video-text-output", "evaluate-video clip.mp4 notes.mp4", "notes.mp4"),
    _c("evaluate-video-missing-input", "evaluate-video nope.mp4 clip.mp4", "not found"),
    _c("evaluate-video-size-huge", "evaluate-video clip.mp4 clip.mp4 --style s.png --image-size 1000000", "image-size"),
    _c("evaluate-video-missing-style", "evaluate-video clip.mp4 clip.mp4 --style nope.png", "no such file"),
    _c("evaluate-video-no-output", "evaluate-video clip.mp4", "required"),
]

AUGMENT = [
    _c("augment-output-is-input", "augment photos -o photos -q", "input folder"),
    _c("augment-output-inside-input", "augment photos -o photos/aug -q", "inside the input folder"),
    _c("augment-missing-input", "augment nope -o out -q", "not found"),
    _c("augment-empty-input", "augment emptydir -o out -q", "no images"),
    _c("augment-seed-2-70", f"augment photos -o out -q --seed {2**70}", "64 bits"),
    _c("augment-output-is-file", "augment photos -o afile -q", "afile"),
    _c("augment-copies-zero", "augment photos -o out --copies 0 -q", "copies"),
    _c("augment-strength-two", "augment photos -o out --strength 2 -q", "strength"),
    _c("augment-unknown-method", "augment photos -o out --method nosuch -q", "invalid choice"),
    _c("augment-missing-style", "augment photos -o out --styles nope.png -q", "nope.png"),
    _c("augment-no-arguments", "augment -q", "IN_DIR"),
]

DECODERS = [
    _c("decoders-eval-text-checkpoint", "decoders eval text.pt --images c.png", "not a PyTorch file"),
    _c("decoders-eval-missing", "decoders eval nope.pt --images c.png", "nope.pt"),
    _c("decoders-export-text", "decoders export text.pt out.pt", "text.pt"),
    _c("decoders-export-not-a-decoder", "decoders export m.pt out.pt", "not an impasto decoder"),
    _c("decoders-train-output-is-file", "decoders train --data photos -o afile --steps 1", "afile"),
    _c(
        "decoders-train-output-is-data",
        "decoders train --data photos -o photos --steps 1 --crop 32 --batch-size 1",
        "input folder",
    ),
    _c("decoders-train-missing-data", "decoders train --data nope -o run --steps 1", "nope"),
    _c("decoders-train-steps-zero", "decoders train --data photos -o run --steps 0", "steps"),
    _c("decoders-train-unknown-level", "decoders train --data photos -o run --level relu9_1", "invalid choice"),
    _c("decoders-no-action", "decoders", "action"),
]

SERVE_STUDY = [
    _c("serve-port-out-of-range", "serve --port 70000", "port"),
    _c("serve-workers-zero", "serve --workers 0", "workers"),
    _c("serve-queue-zero", "serve --queue-size 0", "queue-size"),
    _c("serve-data-is-file", "serve --data afile", "afile"),
    _c("study-report-missing-data", "study report --data nope", "no studio data"),
    _c("study-report-not-a-database", "study report --data badstudio", "not a studio database"),
    _c("study-no-action", "study", "action"),
]

TOP = [
    _c("top-unknown-command", "paint c.png", "invalid choice"),
    _c("top-no-command", [], "command"),
    _c("top-fast-no-action", "fast", "action"),
    _c("top-cyclegan-no-action", "cyclegan", "action"),
]

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
