"""Tiny random diffusion models of the real classes, saved with save_pretrained so the
tests load them through the project's real loader (no hub access)."""

import json
from pathlib import Path

import torch


def tiny_pixel_prior(folder, channels=1, size=16, seed=0):
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=size, in_channels=channels, out_channels=channels, layers_per_block=1,
                       block_out_channels=(8, 16), down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=4)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(str(folder))
    return Path(folder)


def _tiny_clip_tokenizer(folder: Path):
    """A character-level CLIP BPE vocabulary (no merges): enough to tokenize any prompt."""
    from transformers import CLIPTokenizer
    # GPT-2/CLIP byte-level alphabet: printable bytes map to themselves, the rest to 256+.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = [chr(b) for b in printable] + [chr(256 + i) for i in range(256 - len(printable))]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16), len(vocab)


def _tiny_unet_and_vae():
    """A conditioned UNet (16-d cross-attention) on 4x8x8 latents and a VAE for 3x16x16 images."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(8, 16), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16,
                                attention_head_dim=2, norm_num_groups=4)
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), latent_channels=4,
                        norm_num_groups=4, sample_size=16)
    return unet, vae


def tiny_stable_diffusion(folder, seed=0):
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel
    folder = Path(folder)
    torch.manual_seed(seed)
    tokenizer, vocab_size = _tiny_clip_tokenizer(folder / "_tok")
    text = CLIPTextModel(CLIPTextConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=16,
                                        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                                        pad_token_id=vocab_size - 1))
    unet, vae = _tiny_unet_and_vae()
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
                                   scheduler=DDIMScheduler(steps_offset=1, clip_sample=False), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(str(folder))
    return folder


def tiny_clip_vision(folder=None, seed=0):
    """A tiny CLIPVisionModelWithProjection (32 px input, 16-d embeddings) and its image
    processor, saved to `folder` if given."""
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )
    torch.manual_seed(seed)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=16, intermediate_size=32, projection_dim=16,
                                                           num_hidden_layers=1, num_attention_heads=2,
                                                           image_size=32, patch_size=8))
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    if folder is not None:
        model.save_pretrained(str(folder))
        processor.save_pretrained(str(folder))
    return model, processor


def tiny_image_variation(folder, seed=0):
    """The lambdalabs/sd-image-variations-diffusers layout: a UNet conditioned on CLIP image embeddings."""
    from diffusers import (
        DDIMScheduler,
        StableDiffusionImageVariationPipeline,
    )
    folder = Path(folder)
    encoder, processor = tiny_clip_vision(seed=seed)
    torch.manual_seed(seed)
    unet, vae = _tiny_unet_and_vae()
    StableDiffusionImageVariationPipeline(vae=vae, image_encoder=encoder, unet=unet,
                                          scheduler=DDIMScheduler(steps_offset=1, clip_sample=False),
                                          safety_checker=None, feature_extractor=processor,
                                          requires_safety_checker=False).save_pretrained(str(folder))
    return folder


def tiny_generate_kit(root) -> dict:
    """A 3-class grey small_cnn teacher card and a tiny pixel prior: `teacher` and `backbone`
    of a generate config."""
    from dfkd_core.models.checkpoints import save_classifier
    from dfkd_core.models.zoo import build_model
    root = Path(root)
    save_classifier(root / "teacher", build_model("small_cnn", 3, 1),
                    dict(arch="small_cnn", num_classes=3, in_channels=1, input_size=32, mean=[0.5], std=[0.25],
                         class_names=["a", "b", "c"]))
    return {"teacher": str(root / "teacher.json"), "backbone": str(tiny_pixel_prior(root / "prior"))}


def tiny_latent_prior(folder, seed=0, scaling_factor=0.8):
    """The demo prior's layout (LDMPipeline): an AutoencoderKL for 1x16x16 images with 4x4x4
    latents and an unconditional UNet2DModel on them, saved as the project saves its prior."""
    from dfkd_core.diffusion.prior import LatentPriorConfig, make_autoencoder, make_unet, save_latent_prior
    torch.manual_seed(seed)
    cfg = LatentPriorConfig(ae_channels=(8, 8, 8), channels=(32, 32, 32), layers_per_block=1, attention=False)
    ae = make_autoencoder(cfg, channels=1, size=16)
    ae.register_to_config(scaling_factor=scaling_factor)
    save_latent_prior(ae, make_unet(cfg, latent_size=4), folder)
    return Path(folder)
