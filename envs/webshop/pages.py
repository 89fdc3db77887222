"""HTML pages of the WebShop site and their text observation (``observation_mode='text'``).

Pages mirror the visible structure of ``web_agent_site/templates/*.html``: index (search box), results
(10 per page, ``Next >`` / ``< Prev``), item (options as radio buttons, Description / Features /
Reviews / Buy Now), item sub-pages and the done page. Every control is a plain HTML form that posts a
WebShop action (``search[...]`` / ``click[...]``), so the same pages work in a browser and for agents.

Text mode, as ``WebAgentTextEnv.convert_html_to_text(simple=True)``: the visible text nodes joined by
``' [SEP] '`` (whitespace-only nodes are skipped). Clickables, as ``get_available_actions``: the
lower-cased text of every ``.btn`` button and ``.product-link`` link in page order, then the value of
every radio input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Comment
from jinja2 import Environment, select_autoescape

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

_HEAD = """<!DOCTYPE html><html><head><title>WebShop</title><meta charset="utf-8"></head><body>"""
_INSTRUCTION = """<div id="instruction-text"><h4>Instruction: <br>{{ instruction_text }}</h4></div>"""


def _button(label: str, action: str, cls: str = "btn btn-primary") -> str:
    """A form posting ``action``; ``label`` is the visible (and clickable) text."""
    return (
        '<form method="post" action="{{ act_url }}" style="display:inline">'
        f'<input type="hidden" name="action" value="{action}">'
        f'<button type="submit" class="{cls}">{label}</button></form>'
    )


INDEX = _ENV.from_string(
    _HEAD
    + """<div id="logo"><h2>WebShop</h2></div>"""
    + _INSTRUCTION
    + """<form method="post" action="{{ act_url }}"><input id="search_input" type="text" name="search_query"
 placeholder="Search..." required><button class="btn btn-success" type="submit">Search</button></form></body></html>"""
)

RESULTS = _ENV.from_string(
    _HEAD
    + _INSTRUCTION
    + _button("Back to Search", "click[back to search]", "btn btn-success")
    + """<p>Page {{ page }} (Total results: {{ total }})</p>"""
    + """{% if page > 1 %}""" + _button("&lt; Prev", "click[&lt; prev]") + """{% endif %}"""
    + """{% if page * 10 < total %}""" + _button("Next &gt;", "click[next &gt;]") + """{% endif %}"""
    + """<div class="grid-container">{% for item in products %}<div class="grid-item">
<h4><form method="post" action="{{ act_url }}" style="display:inline"><input type="hidden" name="action"
 value="click[{{ item.asin|lower }}]"><button type="submit" class="product-link">{{ item.asin }}</button></form></h4>
<h4 class="product-title">{{ item.Title }}</h4><h5 class="product-price">{{ item.Price }}</h5></div>{% endfor %}</div>
</body></html>"""
)

ITEM = _ENV.from_string(
    _HEAD
    + _INSTRUCTION
    + _button("Back to Search", "click[back to search]", "btn btn-success")
    + _button("&lt; Prev", "click[&lt; prev]")
    + """{% for name, values in product.options.items() %}<div class="option"><h4>{{ name }}</h4>
<form method="post" action="{{ act_url }}">{% for v in values %}<input type="radio" id="radio_{{ name }}{{ loop.index0 }}"
 name="{{ name }}" value="{{ v }}" onchange="this.form.action.value='click[' + this.value + ']'; this.form.submit()"
 {% if options.get(name) == v %}checked{% endif %}><label for="radio_{{ name }}{{ loop.index0 }}">{{ v }}</label>
{% endfor %}<input type="hidden" name="action" value=""></form></div>{% endfor %}
<h2>{{ product.Title }}</h2><h4>Price: {{ product.Price }}</h4><h4>Rating: {{ product.Rating }}</h4>"""
    + _button("Description", "click[description]")
    + _button("Features", "click[features]")
    + _button("Reviews", "click[reviews]")
    + """{% if show_attrs %}""" + _button("Attributes", "click[attributes]") + """{% endif %}"""
    + _button("Buy Now", "click[buy now]", "btn btn-lg purchase")
    + """</body></html>"""
)

SUB_PAGE = _ENV.from_string(
    _HEAD
    + _INSTRUCTION
    + _button("Back to Search", "click[back to search]", "btn btn-success")
    + _button("&lt; Prev", "click[&lt; prev]")
    + """<div class="product-info">{% if sub_page == 'description' %}<p>{{ product.Description or 'No Description' }}</p>
{% elif sub_page == 'features' %}{% for b in product.BulletPoints %}<p>{{ b }}</p>{% endfor %}
{% elif sub_page == 'reviews' %}{% for r in product.Reviews %}<div class="review"><h4>"{{ r.title }}"</h4>
<p>{{ r.score }}</p><p>{{ r.body }}</p></div>{% else %}<h4>No reviews found</h4>{% endfor %}
{% elif sub_page == 'attributes' %}{% for a in product.Attributes %}<p>{{ a }}</p>{% endfor %}{% endif %}</div>
</body></html>"""
)

DONE = _ENV.from_string(
    _HEAD
    + """<div id="thankyou"><h1>Thank you for shopping with us!</h1></div>
<div id="stats"><h3 id="reward">Your score (min 0.0, max 1.0)</h3><pre>{{ reward }}</pre></div></body></html>"""
)


def render(template_name: str, **ctx: Any) -> str:
    template = {"index": INDEX, "results": RESULTS, "item": ITEM, "sub_page": SUB_PAGE, "done": DONE}[template_name]
    return template.render(**ctx)


_INVISIBLE = {"style", "script", "head", "title", "meta", "[document]"}


@dataclass
class ParsedPage:
    text: str
    clickables: list[str]
    kinds: dict[str, str] = field(default_factory=dict)
    """clickable -> ``button`` | ``product`` | ``option:<option name>``."""
    has_search_bar: bool = False


def parse(html: str) -> ParsedPage:
    """Text observation and clickables of a rendered page."""
    soup = BeautifulSoup(html, "html.parser")
    texts = [
        t.strip()
        for t in soup.find_all(string=True)
        if t.parent.name not in _INVISIBLE and not isinstance(t, Comment) and t.strip()
    ]
    kinds: dict[str, str] = {}
    for el in soup.find_all(class_=["btn", "product-link"]):
        key = el.get_text().lower()
        kinds[key] = "product" if "product-link" in (el.get("class") or []) else "button"
    for opt in soup.select('input[type="radio"]'):
        kinds[str(opt.get("value"))] = f"option:{opt.get('name')}"
    return ParsedPage(
        text=" [SEP] ".join(texts),
        clickables=list(kinds),
        kinds=kinds,
        has_search_bar=soup.find(id="search_input") is not None,
    )
