"""``Sequential``: a stack of layers, each feeding the next."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .fusion import fuse
from .module import Module, deserialize_layer, serialize_layer


class Sequential(Module):
    """Layers applied in order: ``nn.Sequential([nn.Dense(100, activation="relu"), nn.Dense(10)])``.

    Also ``nn.Sequential(layer1, layer2, ...)``. Children are named by position
    ("0", "1", ...), so saved weights do not depend on automatic layer names.
    """

    def __init__(self, *layers: Any, name: str | None = None) -> None:
        super().__init__(name=name)
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
            return Sequential(self.layers[i])
        return self.layers[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, x: Any) -> Any:
        steps = self.__dict__.get("_steps")
        if steps is None:
            # Once built, run the layers with fusible neighbours merged (see nn/fusion.py); the
            # first call goes layer by layer so that each layer builds and checks its input.
            steps = list(self._modules.values())
            if self.built:
                self.__dict__["_steps"] = steps = fuse(steps)
        for step in steps:
            x = step(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "layers": [serialize_layer(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Sequential:
        layers = [deserialize_layer(c, custom_objects) for c in config["layers"]]
        return cls(layers, name=config.get("name"))
