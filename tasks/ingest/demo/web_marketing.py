"""Marketing-style page layouts: landing page, pricing table, product grid and sign-up form."""

from __future__ import annotations

import random

from . import words
from .web import Theme, Voice, footer, nav

_GLYPHS = ("&#9733;", "&#9889;", "&#10003;", "&#9728;", "&#9881;", "&#9993;", "&#9775;", "&#10070;")
_TAGLINES = (
    "The {adj} way to {verb} your {noun}",
    "{Verb} every {noun} without the busywork",
    "Your {noun}, finally under control",
    "Meet the {adj} {noun} for {audience}",
    "{Verb} more. Worry less.",
)


def tagline(rng: random.Random) -> str:
    verb = rng.choice(words.VERBS)
    return rng.choice(_TAGLINES).format(
        adj=rng.choice(words.ADJECTIVES),
        verb=verb,
        Verb=verb.capitalize(),
        noun=rng.choice(words.NOUNS),
        audience=rng.choice(words.AUDIENCES),
    )


def landing(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    name = words.brand(rng)
    features = words.pick(rng, words.FEATURES, rng.choice((3, 4, 6)))
    columns = 2 if len(features) == 4 else 3
    angle = rng.choice((90, 120, 135, 160))
    css = (
        f".hero {{ background: linear-gradient({angle}deg, {theme.accent}, #111827); color: #ffffff;"
        " padding-bottom: 72px; }\n"
        ".hero-inner { padding-top: 56px; text-align: center; }\n"
        ".hero h1 { font-size: 44px; margin: 0 0 16px; }\n.lead { font-size: 20px; opacity: 0.9; }\n"
        ".ghost { background: transparent; border: 2px solid #ffffff; margin-left: 12px; }\n"
        f".grid {{ display: grid; grid-template-columns: repeat({columns}, 1fr); gap: 24px; }}\n"
        f".icon {{ font-size: 28px; color: {theme.accent}; }}\n"
        "section { padding: 56px 0; }\nfooter { padding: 24px; opacity: 0.7; }\n"
    )
    cards = "".join(
        f'<div class="card"><div class="icon">{rng.choice(_GLYPHS)}</div><h3>{voice.heading(head)}</h3>'
        f"<p>{text if voice.lang == 'en' else voice.sentence()}</p></div>\n"
        for head, text in features
    )
    body = f'<header class="hero">\n{nav(rng, name, voice)}<div class="container hero-inner">\n'
    body += f'<h1>{voice.heading(tagline(rng))}</h1>\n<p class="lead">{voice.sentence()}</p>\n'
    body += f'<button class="button">{voice.heading("Get started")}</button>'
    body += f'<button class="button ghost">{voice.heading("Book a demo")}</button>\n</div>\n</header>\n'
    body += f'<main class="container">\n<section>\n<h2>{voice.heading("Why " + name)}</h2>\n'
    body += f'<div class="grid">\n{cards}</div>\n</section>\n'
    extra = ""
    if rng.random() < 0.5:
        quote, who = voice.sentence(), words.person(rng)
        css += f"blockquote {{ font-size: 22px; border-left: 4px solid {theme.accent}; padding-left: 20px; }}\n"
        body += f"<section>\n<blockquote>&ldquo;{quote}&rdquo;<br><small>{who}</small></blockquote>\n</section>\n"
        extra = " and a customer quote"
    body += "</main>\n" + footer(rng, name)
    what = f"Landing page for {name} with a gradient hero and {len(features)} feature cards{extra}"
    return f"{name}", what, body, css


def pricing(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    name = words.brand(rng)
    tiers = rng.choice((("Free", "Pro"), ("Starter", "Team", "Business"), ("Basic", "Plus", "Pro", "Enterprise")))
    featured = rng.randrange(len(tiers))
    perks = (
        "projects",
        "team members",
        "GB storage",
        "integrations",
        "reports per month",
        "API calls per day",
    )
    css = (
        f".plans {{ display: grid; grid-template-columns: repeat({len(tiers)}, 1fr); gap: 20px;"
        " margin: 40px 0; }\n"
        ".plan { text-align: center; }\n.price { font-size: 40px; font-weight: 700; margin: 8px 0; }\n"
        ".plan ul { list-style: none; padding: 0; text-align: left; }\n"
        ".plan li { padding: 6px 0; border-bottom: 1px solid rgba(128, 128, 128, 0.25); }\n"
        f".featured {{ border: 2px solid {theme.accent}; transform: scale(1.04); }}\n"
        f".badge {{ background: {theme.accent}; color: #fff; border-radius: 999px; padding: 2px 10px;"
        " font-size: 12px; }\n"
    )
    price = rng.choice((0, 5, 9))
    plans = ""
    for i, tier in enumerate(tiers):
        price = price if i == 0 else price + rng.choice((10, 15, 20, 30, 50))
        cls = "card plan featured" if i == featured else "card plan"
        badge = f'<span class="badge">{voice.heading("Most popular")}</span>' if i == featured else ""
        items = "".join(f"<li>{rng.randint(1, 20) * (i + 1)} {perk}</li>" for perk in words.pick(rng, perks, 4))
        plans += (
            f'<div class="{cls}">{badge}<h3>{tier}</h3><div class="price">${price}</div>'
            "<p>per user / month</p>"
            f'<ul>{items}</ul><button class="button">{voice.heading("Choose " + tier)}</button></div>\n'
        )
    body = nav(rng, name, voice) + '<main class="container">\n'
    body += f"<h1>{voice.heading('Simple, transparent pricing')}</h1>\n<p>{voice.sentence()}</p>\n"
    body += f'<div class="plans">\n{plans}</div>\n'
    if rng.random() < 0.5:
        body += f"<h2>{voice.heading('Frequently asked questions')}</h2>\n"
        for question in words.pick(
            rng, ("Can I cancel anytime?", "Is there a free trial?", "Do you offer refunds?"), 2
        ):
            body += f"<h4>{voice.heading(question)}</h4>\n<p>{voice.sentence()}</p>\n"
    body += "</main>\n" + footer(rng, name)
    what = f"Pricing page for {name} with {len(tiers)} plans, the {tiers[featured]} plan highlighted"
    return f"{name} pricing", what, body, css


_GOODS = (
    "Tote Bag",
    "Desk Lamp",
    "Water Bottle",
    "Notebook",
    "Backpack",
    "Mug",
    "Headphones",
    "Plant Pot",
    "Scarf",
)
_MATERIALS = ("Canvas", "Bamboo", "Steel", "Linen", "Ceramic", "Leather", "Recycled", "Wool", "Oak")


def product_grid(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    name = words.brand(rng)
    count = rng.choice((4, 6, 8, 9, 12))
    columns = 3 if count % 3 == 0 else 4
    css = (
        f".products {{ display: grid; grid-template-columns: repeat({columns}, 1fr); gap: 20px; }}\n"
        f".thumb {{ height: 140px; border-radius: {theme.radius}px; margin-bottom: 12px; }}\n"
        ".stars { color: #f59e0b; letter-spacing: 2px; }\n.cost { font-weight: 700; font-size: 18px; }\n"
        ".toolbar { display: flex; justify-content: space-between; align-items: center; margin: 24px 0; }\n"
    )
    tiles = ""
    for _ in range(count):
        item = f"{rng.choice(_MATERIALS)} {rng.choice(_GOODS)}"
        stars = rng.randint(3, 5)
        shade = rng.choice(words.HEX_COLORS)
        tiles += (
            f'<div class="card"><div class="thumb" style="background: {shade};"></div><h3>{item}</h3>'
            f'<div class="stars">{"&#9733;" * stars}{"&#9734;" * (5 - stars)}</div>'
            f'<p class="cost">${rng.randint(8, 180)}.{rng.choice(("00", "50", "99"))}</p>'
            f'<button class="button">{voice.heading("Add to cart")}</button></div>\n'
        )
    body = nav(rng, name, voice) + '<main class="container">\n'
    body += f'<div class="toolbar"><h1>{voice.heading("Shop all products")}</h1>'
    body += "<select><option>Featured</option><option>Price: low to high</option></select></div>\n"
    body += f'<div class="products">\n{tiles}</div>\n</main>\n' + footer(rng, name)
    what = f"Online shop page for {name} with a grid of {count} products in {columns} columns"
    return f"{name} shop", what, body, css


def signup(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    name = words.brand(rng)
    fields = [
        ("Full name", "text", "name"),
        ("Email address", "email", "email"),
        ("Password", "password", "pw"),
    ]
    if rng.random() < 0.5:
        fields.append(("Company", "text", "company"))
    if rng.random() < 0.4:
        fields.append(("Confirm password", "password", "pw2"))
    css = (
        ".layout { display: grid; grid-template-columns: 1fr 1fr; gap: 40px; padding: 56px 0;"
        " align-items: start; }\n"
        "label { display: block; font-weight: 600; margin: 14px 0 6px; }\n"
        f"input, select {{ width: 100%; padding: 10px 12px; border: 1px solid #cbd5e1;"
        f" border-radius: {theme.radius}px; font-size: 15px; }}\n"
        ".check { display: flex; gap: 8px; align-items: center; margin: 16px 0; }\n"
        ".check input { width: auto; }\n"
        f".benefits li::marker {{ color: {theme.accent}; }}\n"
    )
    inputs = "".join(
        f'<label for="{key}">{voice.heading(label)}</label><input id="{key}" name="{key}" type="{kind}">\n'
        for label, kind, key in fields
    )
    if rng.random() < 0.5:
        plans = "".join(f"<option>{plan}</option>" for plan in ("Free", "Team", "Business"))
        inputs += f'<label for="plan">{voice.heading("Plan")}</label><select id="plan">{plans}</select>\n'
    benefits = "".join(f"<li>{voice.heading(head)}</li>" for head, _ in words.pick(rng, words.FEATURES, 4))
    body = nav(rng, name, voice) + '<main class="container layout">\n'
    body += f"<div><h1>{voice.heading('Create your account')}</h1>\n<p>{voice.paragraph(2)}</p>\n"
    body += f'<ul class="benefits">{benefits}</ul></div>\n<form class="card" onsubmit="return false;">\n{inputs}'
    body += f'<div class="check"><input type="checkbox" id="terms"><span>{voice.heading("I agree to the terms")}'
    body += f'</span></div>\n<button class="button" type="submit">{voice.heading("Sign up")}</button>\n</form>\n'
    body += "</main>\n" + footer(rng, name)
    what = f"Sign-up page for {name} with a {len(fields)}-field form and a list of benefits"
    return f"Sign up for {name}", what, body, css
