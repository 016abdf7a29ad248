"""Pipeline stages (see pipeline.py): sources of training images for the student
(teacher-guided samples, unguided prior samples, Gaussian noise, real images) and the
distillation stage. Each source writes a sample store in its stage folder and makes it
the run's current store; each resumes where it stopped. `samples` and `shards` point at
images made before: a store, or WebDataset shards that distill streams."""

from dataclasses import fields

import torch

from .data import load_dataset
from .data.datasets import align_classes
from .data.image_dataset import ImageDataset, pick_indices
from .data.store import SampleStore
from .data_parallel import any_rank, from_main, per_rank_batch
from .devices import device_label
from .distributed import barrier, init_if_needed, is_main, world
from .distill import DistillConfig, make_student
from .distill import distill as distill_student
from .errors import Cancelled, DfkdError
from .evaluate import accuracy_across_ranks
from .export import export_onnx, export_student, student_card
from .generate import GenerateConfig, run_generation
from .models.zoo import build_model, canonical_arch
from .settings import check_keys as settings_check_keys
from .sources.base import label_with_teacher, write_source  # noqa: F401 - label_with_teacher: public here
from .sources.baselines import Noise, RealImages
from .stage_checks import DISTILL_EXTRA, NO_IMAGES


def check_keys(stage: str, settings: dict, allowed):
    """Unknown settings of a stage, with "did you mean" (settings.check_keys, named for the stage)."""
    settings_check_keys(settings, allowed, f"Stage '{stage}'")


def generate(settings: dict, ctx):
    """Teacher-guided diffusion samples (DiffDFKD); settings as `dfkd generate`'s config."""
    s = {"seed": ctx.config.get("seed", 0), **settings}
    check_keys("generate", s, set(GenerateConfig.__dataclass_fields__) - {"out", "teacher", "device"})
    cfg = GenerateConfig.from_dict({**s, "out": str(ctx.stage_dir), "teacher": ctx.config.get("teacher", "demo"),
                                    "device": ctx.device})
    ctx.store = run_generation(cfg, teacher=ctx.teacher, should_stop=ctx.should_stop,
                               progress=lambda done, total: ctx.progress("generate", done, total))
    ctx.results["images"] = len(ctx.store.manifest())


def unguided(settings: dict, ctx):
    """Baseline: prior samples with no guidance, labelled by the teacher's soft labels in distillation."""
    guidance = dict(settings.get("guidance") or {})
    if guidance.get("strength", 0) != 0:
        raise DfkdError("Stage 'unguided' samples without guidance: leave guidance.strength out (it is 0).")
    generate({**settings, "guidance": {**guidance, "strength": 0.0}}, ctx)


def write_stage(ctx, stage: str, source, keys, batch_size: int = 256) -> SampleStore:
    """Write `source`'s keys to the stage folder's store (sources.write_source: resumes, polls
    ctx.should_stop); a complete store becomes the run's current one."""
    store = SampleStore(ctx.stage_dir)
    write_source(source, store, keys, batch_size, progress=lambda done, total: ctx.progress(stage, done, total),
                 should_stop=ctx.should_stop)
    ctx.store = store
    ctx.results["images"] = len(store.manifest())
    return store


def noise(settings: dict, ctx):
    """Baseline: Gaussian noise images N(mean, std²) clipped to [0, 1]; seed k -> image k."""
    check_keys("noise", settings, {"count", "mean", "std", "seed"})
    source = Noise(ctx.teacher, int(settings.get("count", 1000)), settings.get("mean", 0.5), settings.get("std", 0.25),
                   int(settings.get("seed", ctx.config.get("seed", 0))))
    write_stage(ctx, "noise", source, source.plan())


def real(settings: dict, ctx):
    """Real images (e.g. a held-out pool, or the teacher's own training set as the upper
    reference), labelled by the teacher; their own labels are not used. A sample's seed is
    its index in the dataset."""
    check_keys("real", settings, {"dataset", "split", "count", "seed", "data_dir"})
    if "dataset" not in settings:
        raise DfkdError("Stage 'real' needs `dataset:` (e.g. fashion-mnist) and optionally split, count, seed.")
    data = load_dataset(settings["dataset"], settings.get("split", "train"),
                        root=settings.get("data_dir", ctx.data_dir), download=ctx.download)
    count = settings.get("count")
    if count is not None and not 0 < int(count) <= len(data):
        raise DfkdError(f"Stage 'real': count must be 1..{len(data)} (the size of {data.name}), got {count}.")
    idx = pick_indices(len(data), count and int(count), int(settings.get("seed", ctx.config.get("seed", 0))))
    source = RealImages(ctx.teacher, data, idx)
    store = write_stage(ctx, "real", source, source.plan())
    ctx.real_store, ctx.real = store, store.load()  # `distill` may inflate them (real_repeat), as after hidfd


def samples(settings: dict, ctx):
    """An existing sample set (a store folder, or the name of one in the app's sample sets)."""
    from .sampling import open_sample_set
    check_keys("samples", settings, {"path"})
    ctx.store = open_sample_set(str(settings.get("path", "")))
    ctx.results["images"] = len(ctx.store.manifest())


def shards(settings: dict, ctx):
    """WebDataset shards (`dfkd export STORE --format webdataset --out DIR`) that distill streams
    batch by batch, never holding them all (data.shard_stream); `shuffle`: the buffer, in samples."""
    from .data.shard_stream import DEFAULT_SHUFFLE, ShardStream
    check_keys("shards", settings, {"path", "shuffle"})
    if not settings.get("path"):
        raise DfkdError("Stage 'shards' needs `path:` (the folder of `dfkd export STORE --format webdataset`).")
    ctx.shards = ShardStream(str(settings["path"]), settings.get("shuffle", DEFAULT_SHUFFLE))
    ctx.store = None
    ctx.results["images"] = len(ctx.shards)


def repeat_dataset(data: ImageDataset, times: int) -> ImageDataset:
    return ImageDataset(data.images.repeat(times, 1, 1, 1), data.labels.repeat(times), data.class_names, data.name)


def concat(a: ImageDataset, b: ImageDataset) -> ImageDataset:
    if a.images.shape[1:] != b.images.shape[1:]:
        raise DfkdError(f"Cannot mix images of shape {tuple(a.images.shape[1:])} and {tuple(b.images.shape[1:])}.")
    return ImageDataset(torch.cat([a.images, b.images]), torch.cat([a.labels, b.labels]), a.class_names,
                        f"{a.name}+{b.name}")


DISTILL_KEYS = {f.name for f in fields(DistillConfig)} | set(DISTILL_EXTRA)


def training_set(ctx, real_repeat: int) -> ImageDataset:
    if ctx.shards is not None:  # streamed: nothing is mixed into it
        if real_repeat:
            raise DfkdError("real_repeat cannot mix real images into streamed shards; leave it out.")
        return ctx.shards
    if ctx.store is None and ctx.real is None:
        raise DfkdError(f"Stage 'distill': {NO_IMAGES}")
    # After a `real` stage the store is the real set itself: its images count once, or real_repeat times.
    only_real = ctx.store is not None and ctx.real_store is not None and ctx.store.root == ctx.real_store.root
    data = ctx.store.load() if ctx.store is not None and not only_real else None
    times = max(real_repeat, 1) if only_real else real_repeat
    if times:
        if ctx.real is None:
            raise DfkdError("real_repeat is set but no stage before 'distill' collected real images (real or hidfd).")
        inflated = repeat_dataset(ctx.real, times)
        data = concat(inflated, data) if data is not None else inflated
    return data


def streamed_per_epoch(train_set, cfg: DistillConfig) -> int | None:
    """Under DDP, how many of the shards' samples an epoch trains on (the ranks' shares are
    evened out: data.shard_stream); refuses, before training, shards the ranks cannot share."""
    processes = world()[1]
    if processes == 1 or not hasattr(train_set, "rank_share"):
        return None
    return train_set.rank_share(cfg.seed).used_per_epoch(per_rank_batch(cfg.batch_size, processes))


def teacher_accuracy(teacher, test_set: ImageDataset, device) -> float:
    """The teacher's card figure when it was measured on this test set, else measured now."""
    if teacher.info.get("test_set") == test_set.name and "test_accuracy" in teacher.info:
        return float(teacher.info["test_accuracy"])
    return accuracy_across_ranks(teacher, test_set, device=device)


def distill(settings: dict, ctx):
    """Train a student on the current store (plus the real images repeated real_repeat
    times, if any) or on the shards a `shards` stage streams; evaluate it on a real test set,
    export it (safetensors + card, ONNX). Under torchrun / accelerate every rank trains its share
    in DDP and evaluates its share of the test set; rank 0 alone exports, the others wait for it;
    every rank reports the same results."""
    check_keys("distill", settings, DISTILL_KEYS)
    device = init_if_needed(ctx.device)  # this rank's device (cuda:LOCAL_RANK); ctx.device in one process
    arch = canonical_arch(settings.get("student", "wrn_16_1"))
    cfg = DistillConfig(**{k: v for k, v in settings.items() if k in DistillConfig.__dataclass_fields__})
    real_repeat = int(settings.get("real_repeat", 0))
    train_set = training_set(ctx, real_repeat)
    used = streamed_per_epoch(train_set, cfg)
    test_set = epoch_test_set = None
    if settings.get("eval"):
        test_set = align_classes(load_dataset(settings["eval"], settings.get("eval_split", "test"),
                                              root=settings.get("data_dir", ctx.data_dir),
                                              download=settings.get("download", ctx.download)),
                                 ctx.teacher.class_names)
        epoch_test_set = test_set
        if settings.get("eval_subset"):  # cheaper curves; the final figure uses the whole test set
            epoch_test_set = test_set.subset(pick_indices(len(test_set), int(settings["eval_subset"]), 0))
    teacher = ctx.teacher
    torch.manual_seed(cfg.seed)
    student = make_student(build_model(arch, teacher.num_classes, teacher.in_channels), teacher, cfg.simkd)
    rows = distill_student(student, teacher, train_set, epoch_test_set, cfg, ctx.stage_dir, device=device,
                           should_stop=ctx.should_stop,
                           progress=lambda done, total: ctx.progress("distill", done, total),
                           on_epoch=lambda row: ctx.on_metrics("distill", row))  # Cancelled when stopped
    student.eval()  # (fit leaves it so): the final evaluation must not update BatchNorm statistics
    results = {"student": arch, "train_images": len(train_set), "epochs": cfg.epochs, "device": device_label(device),
               "precision": cfg.precision,
               "distill_wall_s": round(sum(r["epoch_seconds"] for r in rows), 1)}
    if used is not None:
        results["train_images_per_epoch"] = used
    if test_set is not None:
        student_acc = accuracy_across_ranks(lambda im: student(teacher.preprocess(im)), test_set, device=device)
        teacher_acc = teacher_accuracy(teacher, test_set, device)
        results.update(student_test_acc=round(student_acc, 5), teacher_test_acc=round(teacher_acc, 5),
                       ratio_to_teacher=round(student_acc / teacher_acc, 4), test_set=test_set.name)
    card = student_card(student, arch, teacher, method=" -> ".join(ctx.stage_names),
                        data=f"{train_set.name} ({len(train_set)} images, real_repeat={real_repeat})",
                        distill_config=vars(cfg), run=str(ctx.run_dir), command=ctx.command,
                        test_accuracy=results.get("student_test_acc"), test_set=results.get("test_set"),
                        metrics=rows)
    if any_rank(ctx.should_stop()):  # stopped during the final evaluation: export nothing
        raise Cancelled("cancelled before the export")
    diff = None
    if is_main():
        export_student(ctx.stage_dir / "student", student, card)
        if settings.get("onnx", True):
            diff = export_onnx(ctx.stage_dir / "student.onnx", student, teacher)
    barrier()  # the others wait for rank 0's files
    if settings.get("onnx", True):
        results["onnx_max_abs_diff"] = from_main(diff)
    ctx.results.update(results)
