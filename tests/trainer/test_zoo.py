"""Model zoo over temporary resource and user folders (nothing is shipped in the repository yet)."""

import pytest
import torch

from trainer import models, zoo
from trainer.modelfile import ModelFileError, save_model
from trainer.zoo import ZooError


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Empty resources and user folders, read through the env vars at call time."""
    res, user = tmp_path / "resources", tmp_path / "user"
    monkeypatch.setenv("SRGAN_RESOURCES", str(res))
    monkeypatch.setenv("SRGAN_USER_DIR", str(user))
    return res / "models", user / "models"


def _tiny(scale=4, arch="srresnet"):
    torch.manual_seed(scale)
    if arch == "srgan_d":
        model = models.build_model("srgan_d", channels=4)
    else:
        model = models.build_model(arch, scale=scale, num_blocks=1, channels=4)
    model.module.eval()
    return model


def _ship(folder, name, *, scale=4, card=None, arch="srresnet", **meta):
    path = save_model(_tiny(scale, arch), folder / f"{name}.safetensors", metadata=meta)
    if card is not None:
        path.with_suffix(".md").write_text(card, encoding="utf-8")
    return path


def test_folders_follow_env(dirs, tmp_path, monkeypatch):
    shipped, user = dirs
    assert zoo.shipped_models_dir() == shipped
    assert zoo.user_models_dir() == user
    monkeypatch.setenv("SRGAN_USER_DIR", str(tmp_path / "elsewhere"))
    assert zoo.user_models_dir() == tmp_path / "elsewhere" / "models"


def test_nothing_shipped(dirs):
    assert zoo.list_models() == []
    with pytest.raises(ZooError, match="no shipped model") as info:
        zoo.default_model_name()
    assert str(dirs[0]) in str(info.value)
    with pytest.raises(ZooError, match="no shipped model"):
        zoo.load()
    with pytest.raises(ZooError, match="known models: none"):
        zoo.find_model("srgan_x4")


def test_listing_shipped_and_user(dirs):
    shipped, user = dirs
    _ship(shipped, "b_model", card="# B\nA card.", description="bee")
    _ship(shipped, "a_model", scale=2)
    _ship(user, "mine", steps=10)
    (shipped / "notes.txt").write_text("not a model")
    listed = zoo.list_models()
    assert [(m.name, m.source) for m in listed] == [("a_model", "shipped"), ("b_model", "shipped"), ("mine", "user")]
    assert [m.name for m in zoo.list_models("user")] == ["mine"]
    b = listed[1]
    assert (b.arch, b.scale, b.description, b.error) == ("srresnet", 4, "bee", None)
    assert b.card() == "# B\nA card."
    assert b.card_path == shipped / "b_model.md"
    assert listed[0].card() == ""
    assert listed[2].metadata["steps"] == 10


def test_default_model(dirs):
    shipped, _ = dirs
    _ship(shipped, "a_disc", arch="srgan_d")
    with pytest.raises(ZooError, match="no shipped model"):
        zoo.default_model_name()  # a discriminator is never the default
    _ship(shipped, "a_x2", scale=2)
    assert zoo.default_model_name() == "a_x2"  # no 4x generator: the first generator
    _ship(shipped, "c_x4")
    assert zoo.default_model_name() == "c_x4"  # the first 4x generator
    _ship(shipped, zoo.DEFAULT_MODEL)
    assert zoo.default_model_name() == zoo.DEFAULT_MODEL
    model = zoo.load()
    assert model.arch == "srresnet" and model.scale == 4 and not model.module.training
    assert model.source == shipped / f"{zoo.DEFAULT_MODEL}.safetensors" and model.metadata["kind"] == "generator"


def test_unreadable_file_is_listed_with_its_error(dirs):
    shipped, _ = dirs
    shipped.mkdir(parents=True)
    (shipped / "broken.safetensors").write_bytes(b"garbage")
    (listed,) = zoo.list_models()
    assert listed.name == "broken" and listed.error and "corrupt" in listed.error
    with pytest.raises(ZooError, match="no shipped model"):
        zoo.default_model_name()
    with pytest.raises(ModelFileError, match="broken.safetensors"):
        zoo.load("broken")


def test_find_by_name_and_path(dirs, tmp_path):
    shipped, user = dirs
    _ship(shipped, "same", description="shipped one")
    _ship(user, "same", description="user one")
    _ship(user, "only_user")
    assert zoo.find_model("same").source == "shipped"  # shipped names win
    assert zoo.find_model("only_user").path == user / "only_user.safetensors"
    with pytest.raises(ZooError, match="known models: same, only_user"):
        zoo.find_model("nope")
    loose = _ship(tmp_path / "downloads", "loose")
    for ref in (loose, str(loose)):
        found = zoo.find_model(ref)
        assert (found.source, found.path, found.arch) == ("file", loose, "srresnet")
    with pytest.raises(ZooError, match="not found"):
        zoo.find_model(tmp_path / "absent.safetensors")
    pth = tmp_path / "net.pth"
    torch.save(_tiny().module.state_dict(), pth)
    assert zoo.find_model(str(pth)).metadata == {}
    assert zoo.load(pth).arch == "srresnet"  # inferred from the keys


def test_load_by_name_gives_identical_outputs(dirs):
    shipped, _ = dirs
    _ship(shipped, "net")
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(zoo.load("net").module(x), _tiny().module(x))


def test_save_user_model(dirs):
    _, user = dirs
    entry = zoo.save_user_model(_tiny(), "my-run_1", metadata={"steps": 5}, card="# my run")
    assert entry.source == "user" and entry.path == user / "my-run_1.safetensors"
    assert entry.metadata["steps"] == 5 and entry.card() == "# my run"
    with pytest.raises(FileExistsError):
        zoo.save_user_model(_tiny(), "my-run_1")
    assert zoo.save_user_model(_tiny(2), "my-run_1", overwrite=True).scale == 2
    for bad in ("../escape", "a/b", "", ".hidden", "x.safetensors"):
        with pytest.raises(ValueError, match="invalid model name"):
            zoo.save_user_model(_tiny(), bad)


def test_install_model(dirs, tmp_path):
    _, user = dirs
    src = _ship(tmp_path / "dl", "fancy", card="# fancy")
    entry = zoo.install_model(src)
    assert entry.path == user / "fancy.safetensors" and entry.card() == "# fancy"
    assert [p.name for p in sorted(user.iterdir())] == ["fancy.md", "fancy.safetensors"]
    assert zoo.install_model(src, "renamed").name == "renamed"
    with pytest.raises(FileExistsError):
        zoo.install_model(src)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, str(foreign))
    with pytest.raises(ModelFileError, match="architecture"):
        zoo.install_model(foreign)
    pth = tmp_path / "net.pth"
    torch.save(_tiny().module.state_dict(), pth)
    with pytest.raises(ModelFileError, match="only .safetensors"):
        zoo.install_model(pth)
