"""``Sequential``: a stack of layers, each feeding the next."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .fusion import Fused, fuse, fusion_enabled
from .module import Module, deserialize_layer, serialize_layer


class Sequential(Module):
    """Layers applied in order: ``nn.Sequential([nn.Dense(100, activation="relu"), nn.Dense(10)])``.

    Also ``nn.Sequential(layer1, layer2, ...)``. Children are named by position
    ("0", "1", ...), so saved weights do not depend on automatic layer names.

    Neighbours with a faster joint form (Conv2D(relu) + MaxPool2D(2)) run as one op from
    the first call on (see nn/fusion.py and ``steps()``); ``fuse=False`` runs every layer
    on its own, as does ``nn.set_fusion(False)`` for every model.
    """

    def __init__(self, *layers: Any, name: str | None = None, fuse: bool = True) -> None:
        super().__init__(name=name)
        self.fuse = bool(fuse)
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            self.add(layer)

    def add(self, layer: Module) -> Sequential:
        """Append a layer (Keras's ``model.add``)."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential takes layers (Modules). Received: {type(layer).__name__}")
        self._modules[str(len(self._modules))] = layer
        self.__dict__["built"] = False
        self.__dict__["_steps"] = None
        first = self.layers[0].declared_input_shape
        if first is not None:  # Keras's input_shape= on the first layer: build every layer now
            self.build((None,) + first)
        return self

    @property
    def layers(self) -> list[Module]:
        return list(self._modules.values())

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return Sequential(self.layers[i], fuse=self.fuse)
        return self.layers[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def steps(self) -> list[Any]:
        """What a call runs: the layers in order, fusible neighbours as one ``Fused`` step (nn/fusion.py).

        The plan depends only on the layers' settings, ``fuse`` and ``nn.set_fusion``, so it
        is the same for the first call and every later one.
        """
        d = self.__dict__
        fused = self.fuse and fusion_enabled()
        if d.get("_steps") is None or d.get("_steps_fused") != fused:
            d["_steps"] = fuse(self.layers) if fused else self.layers
            d["_steps_fused"] = fused
        return d["_steps"]

    def forward(self, x: Any) -> Any:
        d = self.__dict__
        steps = self.layers if d.get("_building") else self.steps()
        if not self.built and not d.get("_building") and hasattr(x, "shape") and \
                any(isinstance(step, Fused) for step in steps):
            # A fused step needs its layers' weights: build every layer first, layer by layer,
            # on one sample without recording a graph, so that this first call runs the plan too.
            d["_building"] = True
            try:
                self.build((1,) + tuple(x.shape[1:]))
            finally:
                d["_building"] = False
        for step in steps:
            x = step(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "layers": [serialize_layer(layer) for layer in self.layers], "fuse": self.fuse}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Sequential:
        layers = [deserialize_layer(c, custom_objects) for c in config["layers"]]
        return cls(layers, name=config.get("name"), fuse=config.get("fuse", True))
