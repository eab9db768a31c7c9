"""A small FastAPI app for the openapi kind's tests, started by checklists as a real process.

``python openapi_app.py`` serves on ``$PORT`` with its own OpenAPI document at /openapi.json;
every operation carries an example. Defects, each switched on by a variable ``APP_FAULT_*=1``:

- ``OFF_SCHEMA``: GET /items/{item_id} answers ``price`` as text, not the integer documented;
- ``SERVER_ERROR``: POST /items answers 500 for an odd price (the example's is even);
- ``UNDOCUMENTED_STATUS``: DELETE /items/{item_id} answers 418, which the document does not list;
- ``NO_EXAMPLE``: an admin operation, GET /admin/stats, is added without an example;
- ``SLOW``: GET /items waits 1.5 s;
- ``LOST_WRITES``: POST /items answers 201 with an id, but never keeps the item: the
  document's link from it to GET /items/{item_id} finds nothing (only stateful runs see it).
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import uvicorn
from fastapi import Body, FastAPI, HTTPException, Path, Response
from pydantic import BaseModel, Field


def fault(name: str) -> bool:
    return os.environ.get(f"APP_FAULT_{name}", "") not in ("", "0")


class NewItem(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    price: int = Field(ge=0, le=100_000)


class Item(BaseModel):
    id: int
    name: str
    price: int


ITEMS = {1: Item(id=1, name="kettle", price=2500)}
app = FastAPI(title="openapi test app", version="1.0")


@app.get("/items", response_model=list[Item])
def list_items() -> list[Item]:
    if fault("SLOW"):
        time.sleep(1.5)
    return list(ITEMS.values())


@app.get(
    "/items/{item_id}", response_model=Item, operation_id="get_item", responses={404: {"description": "no such item"}}
)
def get_item(item_id: Annotated[int, Path(examples=[1])]) -> Response | Item:
    if item_id not in ITEMS:
        raise HTTPException(404, "no such item")
    item = ITEMS[item_id]
    if fault("OFF_SCHEMA"):
        return Response(
            f'{{"id": {item.id}, "name": "{item.name}", "price": "{item.price} cents"}}', media_type="application/json"
        )
    return item


#: the document's link: the id POST /items answers is the item_id of GET /items/{item_id}
CREATED_LINKS: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "the item, created",
        "links": {"GetItem": {"operationId": "get_item", "parameters": {"item_id": "$response.body#/id"}}},
    }
}


@app.post("/items", response_model=Item, status_code=201, responses=CREATED_LINKS)
def add_item(item: Annotated[NewItem, Body(examples=[{"name": "teapot", "price": 1800}])]) -> Item:
    if fault("SERVER_ERROR") and item.price % 2:
        raise HTTPException(500, "broken")
    created = Item(id=max(ITEMS, default=0) + 1, name=item.name, price=item.price)
    if not fault("LOST_WRITES"):
        ITEMS[created.id] = created
    return created


@app.delete("/items/{item_id}", status_code=204, responses={404: {"description": "no such item"}})
def delete_item(item_id: Annotated[int, Path(examples=[999])]) -> Response:
    if fault("UNDOCUMENTED_STATUS"):
        return Response(status_code=418)
    if item_id not in ITEMS:
        raise HTTPException(404, "no such item")
    del ITEMS[item_id]
    return Response(status_code=204)


if fault("NO_EXAMPLE"):

    @app.get("/admin/stats")
    def stats(window: int = 60) -> dict[str, int]:
        return {"items": len(ITEMS), "window": window}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
