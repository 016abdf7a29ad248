"""Teachers in the layouts users have: transformers classifiers saved with their image
processor (transformers 5: `size` is a SizeDict; crop_pct; center crops), loaded through
the real loader; and weights that hold NaN or infinite values."""

import pytest
import torch
import torch.nn.functional as F

from dfkd_core import DfkdError
from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.loading import load_teacher


def _tiny_vit(folder, processor=True):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor
    torch.manual_seed(0)
    model = ViTForImageClassification(ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=32, num_labels=3)).eval()
    model.save_pretrained(folder)
    proc = ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.1, 0.2, 0.3], image_std=[0.5, 0.6, 0.7])
    if processor:
        proc.save_pretrained(folder)
    return model, proc


def _tiny_convnext(folder, shortest_edge=32, crop_pct=0.875):
    from transformers import ConvNextConfig, ConvNextForImageClassification, ConvNextImageProcessor
    torch.manual_seed(0)
    model = ConvNextForImageClassification(ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2,
                                                          num_labels=4)).eval()
    model.save_pretrained(folder)
    proc = ConvNextImageProcessor(size={"shortest_edge": shortest_edge}, crop_pct=crop_pct)
    proc.save_pretrained(folder)
    return model, proc


def _tiny_resnet_with_center_crop(folder):
    """The google/bit and DINOv2 layout: resize the shortest edge, then a center crop."""
    from transformers import BitImageProcessor, ResNetConfig, ResNetForImageClassification
    torch.manual_seed(0)
    model = ResNetForImageClassification(ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                                                      num_labels=3)).eval()
    model.save_pretrained(folder)
    proc = BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32}, do_center_crop=True)
    proc.save_pretrained(folder)
    return model, proc


def _smooth_images(n, side, seed=0):
    """Low-frequency uint8 images: resampling filters (bicubic vs bilinear) barely differ on them."""
    coarse = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    return (F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False).clamp(0, 1) * 255).round()


def test_a_32_px_vit_reads_its_size_dict_and_normalisation(tmp_path):
    model, proc = _tiny_vit(tmp_path / "vit")
    teacher = load_teacher(tmp_path / "vit")
    assert teacher.input_size == 32 and teacher.preprocess.resize_size == 32
    assert torch.allclose(teacher.preprocess.mean.flatten(), torch.tensor([0.1, 0.2, 0.3]))
    pixels = _smooth_images(2, 32)
    want = proc(images=list(pixels.to(torch.uint8)), return_tensors="pt")["pixel_values"]
    assert torch.allclose(teacher.preprocess(pixels / 255), want, atol=1e-4)
    assert torch.allclose(teacher(pixels / 255), model(pixel_values=want).logits, atol=1e-4)


def test_dfkd_generate_runs_with_a_32_px_vit_teacher(tmp_path):
    from tiny_models import tiny_pixel_prior

    from dfkd_core import cli
    _tiny_vit(tmp_path / "vit")
    argv = ["generate", "--teacher", tmp_path / "vit", "--backbone", tiny_pixel_prior(tmp_path / "prior", channels=3),
            "--classes", "1", "--per-class", "1", "--steps", "2", "--candidates", "1", "--device", "cpu",
            "--out", tmp_path / "run"]
    assert cli.main([str(a) for a in argv]) == 0


def test_a_vit_without_a_processor_takes_its_own_image_size(tmp_path):
    _tiny_vit(tmp_path / "vit", processor=False)
    teacher = load_teacher(tmp_path / "vit")
    assert teacher.input_size == 32
    assert teacher(torch.rand(1, 3, 64, 64)).shape == (1, 3)


@pytest.mark.parametrize("layout", ["convnext", "bit"])
def test_cnn_processors_resize_then_crop_like_transformers(tmp_path, layout):
    build = _tiny_convnext if layout == "convnext" else _tiny_resnet_with_center_crop
    model, proc = build(tmp_path / layout)
    teacher = load_teacher(tmp_path / layout)
    assert teacher.input_size == 32
    assert teacher.preprocess.resize_size == (int(32 / 0.875) if layout == "convnext" else 40)
    pixels = _smooth_images(3, 48)
    want = proc(images=list(pixels.to(torch.uint8)), return_tensors="pt")["pixel_values"]
    got = teacher.preprocess(pixels / 255)
    assert got.shape == want.shape == (3, 3, 32, 32)
    # Same transform up to the resampling filter; without the crop the images differ far more.
    uncropped = (F.interpolate(pixels / 255, size=(32, 32), mode="bilinear", antialias=True)
                 - teacher.preprocess.mean) / teacher.preprocess.std
    assert (got - want).abs().mean() < 0.25 * (uncropped - want).abs().mean()
    assert torch.allclose(teacher(pixels / 255), model(pixel_values=got).logits, atol=1e-5)


def test_convnext_from_384_px_warps_without_cropping(tmp_path):
    from transformers import ConvNextImageProcessor

    from dfkd_core.teacher.processor_input import read_processor
    inputs = read_processor(ConvNextImageProcessor(size={"shortest_edge": 384}), 3, "x")
    assert (inputs.input_size, inputs.resize_size) == (384, 384)


def test_a_non_square_processor_is_refused_with_the_flag_to_use(tmp_path):
    from transformers import ViTImageProcessor
    _tiny_vit(tmp_path / "vit", processor=False)
    ViTImageProcessor(size={"height": 32, "width": 48}).save_pretrained(tmp_path / "vit")
    with pytest.raises(DfkdError, match="32x48.*--teacher-input-size"):
        load_teacher(tmp_path / "vit")
    assert load_teacher(tmp_path / "vit", input_size=32).input_size == 32


def _poisoned(model, value):
    state = model.state_dict()
    first_conv = next(k for k, v in state.items() if v.ndim == 4)
    state[first_conv][0, 0, 0, 0] = value
    bn_var = next(k for k in state if k.endswith("running_var"))
    state[bn_var][0] = float("inf")
    return state, first_conv, bn_var


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_teacher_with_non_finite_weights_is_refused_naming_the_tensors(tmp_path, value):
    model = build_model("resnet8", 10, 3)
    state, first_conv, bn_var = _poisoned(model, value)
    torch.save({"state_dict": state}, tmp_path / "t.pth")
    with pytest.raises(DfkdError, match=f"NaN or infinite values: {first_conv} \\(1 values\\), {bn_var}"):
        load_teacher(tmp_path / "t.pth", arch="resnet8")
    model.load_state_dict(state)
    card = dict(arch="resnet8", num_classes=10, in_channels=3, input_size=32, mean=[0.5] * 3, std=[0.5] * 3,
                class_names=list("abcdefghij"))
    _, card_path = save_classifier(tmp_path / "mine", model, card)
    with pytest.raises(DfkdError, match="NaN or infinite"):
        load_teacher(card_path)


def test_a_student_of_a_cropping_teacher_keeps_the_crop_in_its_card_and_onnx(tmp_path):
    from dfkd_core.distill.export import export_onnx, export_student, student_card
    _tiny_convnext(tmp_path / "convnext")
    teacher = load_teacher(tmp_path / "convnext")
    torch.manual_seed(0)
    student = build_model("resnet8", 4, 3).eval()
    _, card_path = export_student(tmp_path / "student", student, student_card(student, "resnet8", teacher))
    reloaded = load_teacher(card_path)
    assert (reloaded.input_size, reloaded.preprocess.resize_size) == (32, 36)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        want = student(teacher.preprocess(x))
    assert torch.allclose(reloaded(x), want, atol=1e-5)
    onnxruntime = pytest.importorskip("onnxruntime")
    export_onnx(tmp_path / "student.onnx", student, teacher)
    session = onnxruntime.InferenceSession(str(tmp_path / "student.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": x.numpy()})[0]
    assert abs(got - want.numpy()).max() < 1e-3
