"""Exports for the lab: SLM LUT and bitmaps, height maps / STL, MZI tables, .npz round trips."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import photonic_dat
from photonic_dat.export import (
    NPZ_FORMAT,
    HeaterCalibration,
    PhaseLUT,
    apply_mzi_table,
    export_height_maps,
    export_mzi_table,
    export_npz,
    export_run,
    export_slm_bitmaps,
    import_model,
    import_mzi_table,
    load_npz,
    load_npz_meta,
    phase_to_height,
    read_png_gray,
    wrap_phase,
    write_png_gray,
)
from photonic_dat.models import DiffractivePNN, MeshPNN

TWO_PI = 2 * math.pi
SMALL_DPNN = dict(n=24, padding=3, layers=2)  # passes the sampling check at 30 mm


def circ(a, b, period: float = TWO_PI) -> np.ndarray:
    """|a - b| on a circle of the given period."""
    d = np.mod(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), period)
    return np.minimum(d, period - d)


def scrambled_mesh(seed: int = 1, layout: str = "clements") -> MeshPNN:
    """A MeshPNN whose phases lie far outside one period (negative, > 4 pi)."""
    m = MeshPNN(modes=16, layers=2, layout=layout, seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for p in m.physical_params().values():
            p.add_(TWO_PI * torch.randint(-3, 4, p.shape, generator=g).float())
    return m


def random_field(batch: int = 8, modes: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(batch, modes, generator=g), torch.randn(batch, modes, generator=g))


# ---------------------------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------------------------
def test_npz_round_trip_mesh_gives_identical_outputs(tmp_path):
    model = scrambled_mesh()
    path = export_npz(model, tmp_path / "m.npz", extra={"note": "lab A", "acc": 0.9,
                                                        "mask": torch.arange(3)})
    describe, params = load_npz(path)
    assert describe == model.describe()
    assert set(params) == set(model.physical_params())
    for name, p in model.physical_params().items():
        assert torch.equal(params[name], p.detach())
    meta = load_npz_meta(path)
    assert meta["format"] == NPZ_FORMAT and meta["version"] == photonic_dat.__version__
    assert meta["extra"]["note"] == "lab A" and meta["extra"]["acc"] == 0.9
    assert np.array_equal(meta["extra"]["mask"], np.arange(3))
    with np.load(path, allow_pickle=False) as z:  # plain numpy, no pickle
        assert json.loads(str(z["__describe__"]))["kind"] == "mesh"

    rebuilt = import_model(path)
    assert isinstance(rebuilt, MeshPNN) and rebuilt.describe() == model.describe()
    x = random_field()
    with torch.no_grad():
        assert torch.equal(rebuilt(x).scores, model(x).scores)


def test_npz_round_trip_diffractive(tmp_path):
    model = DiffractivePNN(**SMALL_DPNN, init="uniform", seed=2)
    rebuilt = import_model(export_npz(model, tmp_path / "d.npz"))
    assert isinstance(rebuilt, DiffractivePNN)
    x = model.encode(torch.rand(2, 28, 28, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        assert torch.equal(rebuilt(x).scores, model(x).scores)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a photonic-dat export"):
        load_npz(tmp_path / "plain.npz")

    class Hologram:
        def physical_params(self):
            return {"h": torch.zeros(2)}

        def describe(self):
            return {"kind": "hologram"}

    path = export_npz(Hologram(), tmp_path / "h.npz")
    assert load_npz(path)[0] == {"kind": "hologram"}
    with pytest.raises(ValueError, match="kind 'hologram'.*known kinds: mesh, diffractive"):
        import_model(path)
    with pytest.raises(ValueError, match="extra\\['f'\\]"):
        export_npz(scrambled_mesh(), tmp_path / "x.npz", extra={"f": object()})


# ---------------------------------------------------------------------------------------------
# MZI tables and heater calibration
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,layout", [("csv", "clements"), ("json", "clements"), ("csv", "reck")])
def test_mzi_table_round_trip(tmp_path, fmt, layout):
    model = scrambled_mesh(layout=layout)
    path = export_mzi_table(model, tmp_path / f"t.{fmt}", fmt=fmt)
    table = import_mzi_table(path)
    assert sorted(table) == [0, 1]
    for k, mesh in enumerate(model.meshes):
        t = table[k]
        assert torch.equal(t["column"], mesh.layout.column) and torch.equal(t["row"], mesh.layout.top)
        # theta has period 4 pi (push-pull MZI), phi and gamma 2 pi
        assert t["theta"].min() >= 0 and t["theta"].max() < 2 * TWO_PI
        for s in ("phi", "gamma"):
            assert t[s].min() >= 0 and t[s].max() < TWO_PI
        assert circ(t["theta"], mesh.theta.detach(), 2 * TWO_PI).max() < 1e-6
        assert circ(t["phi"], mesh.phi.detach()).max() < 1e-6
        assert circ(t["gamma"], mesh.gamma.detach()).max() < 1e-6

    fresh = MeshPNN(modes=16, layers=2, layout=layout, seed=7)
    apply_mzi_table(fresh, path)
    x = random_field()
    with torch.no_grad():
        assert torch.allclose(fresh(x).scores, model(x).scores, atol=1e-5, rtol=0)


def test_mzi_table_layout(tmp_path):
    model = scrambled_mesh()
    cal = HeaterCalibration.linear(p_2pi_mw=30.0)
    path = export_mzi_table(model, tmp_path / "t.csv", calibration=cal)
    lines = path.read_text().splitlines()
    assert lines[0] == ("kind,mesh,index,column,row,mode,theta,phi,gamma,"
                        "theta_power_mw,phi_power_mw,gamma_power_mw")
    n_mzi = model.meshes[0].layout.n_mzi
    assert len(lines) == 1 + 2 * (n_mzi + 16)
    first = lines[1].split(",")
    assert first[:6] == ["mzi", "0", "0", "0", "0", ""] and first[8] == "" and first[11] == ""
    gamma0 = lines[1 + n_mzi].split(",")
    assert gamma0[:6] == ["input_phase", "0", "", "", "", "0"] and gamma0[6] == gamma0[9] == ""

    doc = json.loads(export_mzi_table(model, tmp_path / "t.json", calibration=cal, fmt="json").read_text())
    assert doc["format"] == "photonic-dat-mzi-table/1" and doc["meshes"][1]["layout"] == "clements"
    rows = [r for r in doc["rows"] if r["kind"] == "mzi" and r["mesh"] == 1]
    mesh = model.meshes[1]
    phi = wrap_phase(mesh.phi.detach())
    theta = np.mod(mesh.theta.detach().double().numpy(), TWO_PI)
    for i in (0, 5, n_mzi - 1):
        assert rows[i]["phi_power_mw"] == pytest.approx(phi[i] / TWO_PI * 30.0, abs=1e-4)
        assert rows[i]["theta_power_mw"] == pytest.approx(theta[i] / TWO_PI * 30.0, abs=1e-4)
    gam = [r for r in doc["rows"] if r["kind"] == "input_phase" and r["mesh"] == 0]
    assert len(gam) == 16 and all(0 <= r["gamma_power_mw"] < 30.0 for r in gam)


def test_heater_calibration():
    lin = HeaterCalibration.linear(p_2pi_mw=20.0, offset_phase=0.5)
    assert lin.to_power_mw(0.5) == pytest.approx(0.0)
    assert lin.to_power_mw(0.5 + math.pi) == pytest.approx(10.0)
    assert lin.to_power_mw(0.5 - 0.1) == pytest.approx(20.0 * (1 - 0.1 / TWO_PI))  # wraps forward
    assert lin.to_power_mw(0.5 + 3 * TWO_PI + 1.0) == pytest.approx(20.0 / TWO_PI)
    assert lin.to_phase(lin.to_power_mw(2.0)) == pytest.approx(2.0)

    capped = HeaterCalibration.linear(p_2pi_mw=20.0, max_power_mw=15.0)
    with pytest.raises(ValueError, match="out of the heater calibration's range"):
        capped.to_power_mw([1.0, 5.5])

    table = HeaterCalibration([0.0, 10.0, 25.0, 40.0], [0.2, 2.0, 4.0, 6.3])
    assert table.to_power_mw(2.0) == pytest.approx(10.0)
    assert table.to_power_mw(3.0) == pytest.approx(17.5)
    with pytest.raises(ValueError, match="phase 0.1 rad .*out of the heater calibration"):
        table.to_power_mw(0.1)  # wraps to 0.1 + 2 pi = 6.38 > 6.3
    with pytest.raises(ValueError, match="not monotonic: row 3 \\(power 20 mW"):
        HeaterCalibration([0.0, 10.0, 20.0], [0.0, 3.0, 2.0])
    with pytest.raises(ValueError, match="row 2: power"):
        HeaterCalibration([0.0, 0.0, 20.0], [0.0, 3.0, 6.0])
    # a decreasing table (phase falls with power) wraps downwards
    down = HeaterCalibration([0.0, 30.0], [1.0, 1.0 - TWO_PI])
    assert down.to_power_mw(1.0 - math.pi) == pytest.approx(15.0)
    assert down.to_power_mw(1.0 + 0.5) == pytest.approx(30.0 * (1 - 0.5 / TWO_PI))


def test_mzi_table_calibration_out_of_range_names_the_shifter(tmp_path):
    cal = HeaterCalibration([0.0, 10.0], [0.0, math.pi])  # reaches only pi
    pattern = r"mesh 0 MZI \d+ \(column \d+, row \d+\) (theta|phi) .*out of the heater"
    with pytest.raises(ValueError, match=pattern):
        export_mzi_table(scrambled_mesh(), tmp_path / "t.csv", calibration=cal)
    with pytest.raises(ValueError, match="no MZI meshes"):
        export_mzi_table(DiffractivePNN(**SMALL_DPNN), tmp_path / "t.csv")


# ---------------------------------------------------------------------------------------------
# SLM lookup tables and bitmaps
# ---------------------------------------------------------------------------------------------
def test_lut_linear_wrap_and_inverse():
    lut = PhaseLUT.linear(bits=8)
    assert lut.covers_circle and lut.levels[-1] == 255
    assert lut.to_levels(TWO_PI) == 0  # exactly 2 pi wraps to level 0
    assert lut.to_levels(torch.tensor(TWO_PI)) == 0  # float32 2 pi as well
    assert lut.to_levels(-1e-12) == 0 and lut.to_levels(0.0) == 0
    assert lut.to_levels(-TWO_PI / 256) == 255
    assert lut.to_levels(math.pi) == 128 and lut.to_levels(3 * math.pi) == 128
    assert lut.to_levels(TWO_PI * 255.4 / 256) == 255 and lut.to_levels(TWO_PI * 255.6 / 256) == 0
    assert lut.to_levels(np.zeros((3, 4))).dtype == np.uint8
    assert PhaseLUT.linear(bits=10).to_levels(0.0).dtype == np.uint16
    assert lut.to_phase([0, 128]) == pytest.approx([0.0, math.pi])
    # a LUT starting at phi_min != 0 wraps into [phi_min, phi_min + 2 pi)
    shifted = PhaseLUT.linear(bits=8, phase_offset=1.0)
    assert shifted.to_levels(1.0) == 0 and shifted.to_levels(1.0 + TWO_PI) == 0
    assert shifted.to_levels(0.99) == 0 and shifted.to_levels(1.0 - TWO_PI / 256) == 255


def test_lut_errors_and_clip(tmp_path):
    with pytest.raises(ValueError, match="not monotonic: row 3 \\(level 2"):
        PhaseLUT([0, 1, 2, 3], [0.0, 1.0, 0.5, 2.0])
    csv_path = tmp_path / "lut.csv"
    csv_path.write_text("# measured 2024\nlevel,phase\n0,0.0\n1,1.0\n2,1.0\n")
    with pytest.raises(ValueError, match="lut.csv line 5 .*not exceed"):
        PhaseLUT.from_csv(csv_path)
    with pytest.raises(ValueError, match="level 256 does not fit 8 bits"):
        PhaseLUT([0, 256], [0.0, 6.0], bits=8)
    assert PhaseLUT([0, 256], [0.0, 6.0], bits=9).levels[-1] == 256
    with pytest.raises(ValueError, match="levels must be strictly increasing"):
        PhaseLUT([0, 2, 1], [0.0, 1.0, 2.0])

    short = PhaseLUT.linear(bits=8, phase_range=1.5 * math.pi)  # reaches ~1.49 pi only
    assert not short.covers_circle
    assert short.to_levels(math.pi) == round(math.pi / (1.5 * math.pi / 256))
    with pytest.raises(ValueError, match="outside the LUT range .* less than 2 pi .*clip=True"):
        short.to_levels([0.5, 1.8 * math.pi])
    clipped = PhaseLUT.linear(bits=8, phase_range=1.5 * math.pi, clip=True)
    assert clipped.to_levels(1.6 * math.pi) == 255  # nearer the top of the LUT
    assert clipped.to_levels(1.95 * math.pi) == 0  # nearer phi_min + 2 pi


@pytest.mark.parametrize("bits,lut", [(8, PhaseLUT.linear(bits=8)), (16, PhaseLUT.linear(bits=16)),
                                      (16, PhaseLUT.linear(bits=10, phase_range=2.2 * math.pi))])
def test_slm_bitmaps_round_trip(tmp_path, bits, lut):
    g = torch.Generator().manual_seed(bits + lut.bits)
    masks = {"masks.0.phase": (torch.rand(12, 10, generator=g) - 0.5) * 6 * math.pi,
             "masks.1.phase": torch.full((12, 10), TWO_PI)}
    paths = export_slm_bitmaps(masks, lut, tmp_path, bits=bits)
    assert [p.name for p in paths] == ["masks.0.phase.png", "masks.1.phase.png"]
    step = lut.level_step()
    for p, phase in zip(paths, masks.values(), strict=True):
        levels = read_png_gray(p)
        assert levels.dtype == (np.uint8 if bits == 8 else np.uint16) and levels.shape == (12, 10)
        assert np.array_equal(levels, lut.to_levels(phase))
        assert circ(lut.to_phase(levels), phase.double().numpy()).max() <= step / 2 + 1e-9
    assert np.all(read_png_gray(paths[1]) == 0)  # 2 pi -> level 0


def test_slm_bitmap_nonlinear_lut_from_csv(tmp_path):
    levels = np.arange(256)
    phases = 2.1 * math.pi * (levels / 255) ** 1.3  # a measured, non-linear response
    csv_path = tmp_path / "lut.csv"
    csv_path.write_text("level,phase\n" + "".join(f"{lv},{float(ph)!r}\n" for lv, ph in zip(levels, phases,
                                                                                  strict=True)))
    lut = PhaseLUT.from_csv(csv_path)
    assert lut.covers_circle and lut.to_levels(TWO_PI) == 0
    phase = np.linspace(-7.0, 7.0, 101).reshape(1, -1)
    (path,) = export_slm_bitmaps({"m": phase}, lut, tmp_path / "out")
    back = lut.to_phase(read_png_gray(path))
    assert circ(back, phase).max() <= lut.max_step / 2 + 1e-9
    short = PhaseLUT(levels[:100], phases[:100])
    with pytest.raises(ValueError, match="mask 'm': phase"):
        export_slm_bitmaps({"m": phase}, short, tmp_path / "out")
    with pytest.raises(ValueError, match="does not fit a 8-bit PNG"):
        export_slm_bitmaps({"m": phase}, PhaseLUT.linear(bits=10), tmp_path / "out", bits=8)


def test_png_against_pillow(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    img16 = ((np.arange(7 * 5).reshape(7, 5) * 1873) % 65536).astype(np.uint16)
    img8 = (img16 % 256).astype(np.uint8)
    write_png_gray(tmp_path / "a16.png", img16, bits=16)
    write_png_gray(tmp_path / "a8.png", img8, bits=8)
    assert np.array_equal(np.array(Image.open(tmp_path / "a8.png")), img8)
    assert np.array_equal(np.array(Image.open(tmp_path / "a16.png")).astype(np.int64), img16)
    # and our reader decodes Pillow's (filtered) files
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    Image.fromarray(noisy).save(tmp_path / "p8.png")
    assert np.array_equal(read_png_gray(tmp_path / "p8.png"), noisy)
    Image.fromarray(img16.astype(np.int32)).convert("I;16").save(tmp_path / "p16.png")
    assert np.array_equal(read_png_gray(tmp_path / "p16.png"), img16)


def png_with_filters(img: np.ndarray, bits: int) -> bytes:
    """An independent PNG encoder that uses filter type ``row % 5`` on each row (all five)."""
    import struct
    import zlib

    h, w = img.shape
    bpp = bits // 8
    lines = img.astype(">u1" if bits == 8 else ">u2").view(np.uint8).reshape(h, w * bpp).astype(int)
    out, prev = b"", np.zeros(w * bpp, dtype=int)
    for y, cur in enumerate(lines):
        ftype = y % 5
        left = np.concatenate([np.zeros(bpp, int), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, int), prev[:-bpp]])
        if ftype == 4:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        else:
            pred = [np.zeros_like(cur), left, prev, (left + prev) // 2][ftype]
        out += bytes([ftype]) + bytes(((cur - pred) % 256).tolist())
        prev = cur

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, bits, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(out))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("bits", [8, 16])
def test_png_reader_all_filter_types(tmp_path, bits):
    rng = np.random.default_rng(bits)
    img = rng.integers(0, 2**bits, (10, 7)).astype(np.uint8 if bits == 8 else np.uint16)
    path = tmp_path / "f.png"
    path.write_bytes(png_with_filters(img, bits))
    assert np.array_equal(read_png_gray(path), img)
    try:  # the test encoder itself checked against Pillow, where installed
        from PIL import Image
    except ImportError:
        return
    assert np.array_equal(np.array(Image.open(path)).astype(np.int64), img)


# ---------------------------------------------------------------------------------------------
# height maps and STL
# ---------------------------------------------------------------------------------------------
def parse_ascii_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A tiny independent ASCII STL parser: (normals (F, 3), vertices (F, 3, 3))."""
    tokens = path.read_text().split()
    assert tokens[0] == "solid" and "endsolid" in tokens[-2:]
    normals, verts, i = [], [], 0
    while i < len(tokens):
        if tokens[i] == "facet":
            assert tokens[i + 1] == "normal"
            normals.append([float(t) for t in tokens[i + 2:i + 5]])
            assert tokens[i + 5:i + 7] == ["outer", "loop"]
            j = i + 7
            tri = []
            for _ in range(3):
                assert tokens[j] == "vertex"
                tri.append([float(t) for t in tokens[j + 1:j + 4]])
                j += 4
            assert tokens[j:j + 2] == ["endloop", "endfacet"]
            verts.append(tri)
            i = j + 2
        else:
            i += 1
    return np.array(normals), np.array(verts)


def test_height_maps_formula_and_stl(tmp_path):
    wavelength, n_index, pitch, base = 0.75e-3, 1.7, 0.4e-3, 0.5e-3
    g = torch.Generator().manual_seed(3)
    phase = torch.rand(6, 5, generator=g, dtype=torch.float64) * 4 * math.pi - math.pi
    phase[0, 0], phase[0, 1], phase[1, 0] = math.pi, TWO_PI, 0.0
    paths = export_height_maps({"masks.0.phase": phase}, wavelength, n_index, tmp_path, pitch,
                               base_thickness=base)
    assert [p.name for p in paths] == ["masks.0.phase.npy", "masks.0.phase.stl"]
    h = np.load(paths[0])
    expected = np.mod(phase.double().numpy(), TWO_PI) * wavelength / (TWO_PI * (n_index - 1))
    assert np.allclose(h, expected, rtol=0, atol=1e-15)
    assert h[0, 0] == pytest.approx(wavelength / (2 * (n_index - 1)))  # pi -> half the 2 pi relief
    assert h[0, 1] == h[1, 0] == 0.0 and h.max() < wavelength / (n_index - 1)
    assert np.allclose(phase_to_height(phase, wavelength, n_index), h)

    normals, tris = parse_ascii_stl(paths[1])
    z = (base + h) * 1e3  # STL in millimetres
    zp = np.pad(z, 1)
    walls = int((zp[1:-1, :-1] != zp[1:-1, 1:]).sum() + (zp[:-1, 1:-1] != zp[1:, 1:-1]).sum())
    assert len(tris) == 2 * z.size + 2 * walls + 2
    assert tris[..., 2].min() == pytest.approx(0.0) and tris[..., 2].max() == pytest.approx(z.max())
    assert np.ptp(tris[..., 0]) == pytest.approx(5 * 0.4) and np.ptp(tris[..., 1]) == pytest.approx(6 * 0.4)
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    unit = cross / np.linalg.norm(cross, axis=1, keepdims=True)
    assert np.allclose(unit, normals, atol=1e-5)  # normals follow the vertex order
    # closed and outward: the divergence theorem gives the volume of the pillars
    volume = np.einsum("fi,fi->", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])) / 6.0
    assert volume == pytest.approx(0.4**2 * z.sum(), rel=1e-6)


def test_height_map_binary_stl_matches_ascii(tmp_path):
    import struct

    phase = torch.rand(4, 3, generator=torch.Generator().manual_seed(4)) * TWO_PI
    kw = dict(wavelength=1e-3, refractive_index=1.5, pixel_pitch=2e-4, base_thickness=3e-4)
    (_, ascii_path) = export_height_maps({"m": phase}, out_dir=tmp_path / "a", **kw)
    (_, bin_path) = export_height_maps({"m": phase}, out_dir=tmp_path / "b", stl_format="binary", **kw)
    normals, tris = parse_ascii_stl(ascii_path)
    data = bin_path.read_bytes()
    (count,) = struct.unpack("<I", data[80:84])
    assert count == len(tris) and len(data) == 84 + 50 * count
    rec = np.frombuffer(data[84:], dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    assert np.allclose(rec["v"], tris, atol=1e-6) and np.allclose(rec["n"], normals, atol=1e-6)


def test_height_map_errors(tmp_path):
    with pytest.raises(ValueError, match="refractive_index must be > 1"):
        export_height_maps({"a": torch.zeros(2, 2)}, 1e-3, 1.0, tmp_path, 1e-4)
    with pytest.raises(ValueError, match="2-D phase map"):
        export_height_maps({"a": torch.zeros(4)}, 1e-3, 1.5, tmp_path, 1e-4)
    with pytest.raises(ValueError, match="pixel_pitch"):
        export_height_maps({"a": torch.zeros(2, 2)}, 1e-3, 1.5, tmp_path, 0.0)


# ---------------------------------------------------------------------------------------------
# finished runs
# ---------------------------------------------------------------------------------------------
def fake_run(run_dir: Path, model_cfg: dict, seed: int = 0) -> Path:
    """A finished run directory (config.yaml, selected.pt, checkpoint.pt) with perturbed phases."""
    import yaml

    from photonic_dat.config import from_dict
    from photonic_dat.models.factory import build_model

    try:  # checkpoints with a checksum header, where the package has them
        from photonic_dat.training.checkpoint import save as save_checkpoint
    except ImportError:
        save_checkpoint = None

    cfg = from_dict({"model": model_cfg, "train": {"seed": seed}})
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    for i, name in enumerate(("selected.pt", "checkpoint.pt")):
        model = build_model(cfg.model, seed=seed)
        g = torch.Generator().manual_seed(10 + i)
        with torch.no_grad():
            for p in model.physical_params().values():
                p.add_(torch.rand(p.shape, generator=g) * 5.0)
        if name == "checkpoint.pt" and save_checkpoint is not None:
            save_checkpoint({"model": model.state_dict()}, run_dir / name)
        else:
            torch.save({"model": model.state_dict()}, run_dir / name)
    return run_dir


def test_export_run_mesh(tmp_path):
    from photonic_dat.training.deploy import load_run

    run = fake_run(tmp_path / "run", {"kind": "mesh", "modes": 16, "layers": 2})
    _, selected, final = load_run(run)
    files = export_run(run, "npz", tmp_path / "out", which="final")
    assert [f.name for f in files] == ["model.npz", "export.json"]
    x = random_field()
    with torch.no_grad():
        assert torch.equal(import_model(files[0])(x).scores, final(x).scores)
    assert load_npz_meta(files[0])["extra"]["which"] == "final"

    (table, manifest) = export_run(run, "mzi-json", tmp_path / "out", p_2pi_mw=25.0)
    fresh = MeshPNN(modes=16, layers=2, seed=3)
    apply_mzi_table(fresh, table)
    with torch.no_grad():
        assert torch.allclose(fresh(x).scores, selected(x).scores, atol=1e-5, rtol=0)
    assert json.loads(manifest.read_text())["files"] == ["mzi_table.json"]

    with pytest.raises(ValueError, match="slm-png needs a model with 2-D phase masks.*'mesh'"):
        export_run(run, "slm-png", tmp_path / "out")
    with pytest.raises(ValueError, match="unknown export format 'gds'"):
        export_run(run, "gds", tmp_path / "out")
    with pytest.raises(ValueError, match="unknown option\\(s\\) for format npz: lut"):
        export_run(run, "npz", tmp_path / "out", lut="x.csv")


def test_export_run_diffractive(tmp_path):
    run = fake_run(tmp_path / "run", {"kind": "diffractive", **SMALL_DPNN})
    files = export_run(run, "slm-png", tmp_path / "slm", bits=16, lut_bits=12)
    assert [f.name for f in files] == ["masks.0.phase.png", "masks.1.phase.png", "export.json"]
    assert read_png_gray(files[0]).shape == (24, 24) and read_png_gray(files[0]).max() < 4096
    files = export_run(run, "height", tmp_path / "h", refractive_index=1.7, stl=False)
    assert [f.name for f in files] == ["masks.0.phase.npy", "masks.1.phase.npy", "export.json"]
    assert np.load(files[0]).max() < 0.75e-3 / 0.7
    with pytest.raises(ValueError, match="needs refractive_index"):
        export_run(run, "height", tmp_path / "h")
    with pytest.raises(ValueError, match="mzi-csv needs a mesh model.*'diffractive'"):
        export_run(run, "mzi-csv", tmp_path / "t")
