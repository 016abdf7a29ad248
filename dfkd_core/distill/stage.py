"""Pipeline stage `distill`: a student trained on the current store (plus the run's few real
images repeated real_repeat times, HiDFD's data inflation), or on the shards a `shards`
stage streams; evaluated on a real test set, exported (safetensors + card, ONNX)."""


import torch

from dfkd_core.data import load_dataset
from dfkd_core.data.datasets import align_classes
from dfkd_core.data.image_dataset import ImageDataset, pick_indices
from dfkd_core.distill.config import DistillConfig, DistillSettings
from dfkd_core.distill.parallel import per_rank_batch
from dfkd_core.errors import Cancelled, DfkdError
from dfkd_core.models.zoo import build_model
from dfkd_core.runtime.devices import device_label
from dfkd_core.runtime.distributed import any_rank, barrier, from_main, init_if_needed, is_main, world
from dfkd_core.settings import base_of
from dfkd_core.stage import Stage
from dfkd_core.teacher.evaluate import accuracy_across_ranks

from .export import export_onnx, export_student, student_card
from .kd import distill as distill_student
from .kd import make_student


def repeat_dataset(data: ImageDataset, times: int) -> ImageDataset:
    return ImageDataset(data.images.repeat(times, 1, 1, 1), data.labels.repeat(times), data.class_names, data.name)


def concat(a: ImageDataset, b: ImageDataset) -> ImageDataset:
    if a.images.shape[1:] != b.images.shape[1:]:
        raise DfkdError(f"Cannot mix images of shape {tuple(a.images.shape[1:])} and {tuple(b.images.shape[1:])}.")
    return ImageDataset(torch.cat([a.images, b.images]), torch.cat([a.labels, b.labels]), a.class_names,
                        f"{a.name}+{b.name}")



def training_set(ctx, real_repeat: int) -> ImageDataset:
    if ctx.shards is not None:  # streamed: nothing is mixed into it
        if real_repeat:
            raise DfkdError("real_repeat cannot mix real images into streamed shards; leave it out.")
        return ctx.shards
    if ctx.store is None and ctx.real is None:
        raise DfkdError("Stage 'distill': no images to learn from: put a source stage before it.")
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


def run(s: DistillSettings, ctx):
    """Under torchrun / accelerate every rank trains its share in DDP and evaluates its share of
    the test set; rank 0 alone exports, the others wait for it; every rank reports the same results."""
    device = init_if_needed(ctx.device)  # this rank's device (cuda:LOCAL_RANK); ctx.device in one process
    arch, cfg, real_repeat = s.student, base_of(s, DistillConfig), s.real_repeat
    train_set = training_set(ctx, real_repeat)
    used = streamed_per_epoch(train_set, cfg)
    test_set = epoch_test_set = None
    if s.eval:
        test_set = align_classes(load_dataset(s.eval, s.eval_split, root=s.data_dir or ctx.data_dir,
                                              download=s.download or ctx.download), ctx.teacher.class_names)
        epoch_test_set = test_set
        if s.eval_subset:  # cheaper curves; the final figure uses the whole test set
            epoch_test_set = test_set.subset(pick_indices(len(test_set), s.eval_subset, 0))
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
        if s.onnx:
            diff = export_onnx(ctx.stage_dir / "student.onnx", student, teacher)
    barrier()  # the others wait for rank 0's files
    if s.onnx:
        results["onnx_max_abs_diff"] = from_main(diff)
    ctx.results.update(results)


def check(s: DistillSettings, plan, where: str):
    if s.real_repeat and not plan.real:
        raise DfkdError(f"{where}: real_repeat is set but no stage before it collects real images (real or hidfd).")
    if s.eval:
        plan.dataset(s.eval, s.eval_split, s.data_dir, s.download or None, where)


DISTILL = Stage("distill", DistillSettings, run, "a student distilled from the teacher on the images", check=check,
                needs_images=True, run_seed=False)
