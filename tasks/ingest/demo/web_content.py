"""Content-heavy page layouts: blog article, analytics dashboard and documentation page."""

from __future__ import annotations

import random

from . import words
from .web import Theme, Voice, footer, nav

_POST_TITLES = (
    "{n} lessons I learned about {topic}",
    "A beginner's guide to {topic}",
    "Why {topic} is easier than you think",
    "What nobody tells you about {topic}",
    "How we changed our approach to {topic}",
)
_SECTION_HEADS = (
    "Getting started",
    "The first surprise",
    "What worked",
    "What did not",
    "Small habits",
    "Next steps",
)


def blog(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    topic = rng.choice(words.TOPICS)
    headline = rng.choice(_POST_TITLES).format(n=rng.randint(3, 9), topic=topic)
    headline = headline[0].upper() + headline[1:]
    author = words.person(rng)
    month, day, year = rng.choice(words.MONTHS), rng.randint(1, 28), rng.randint(2019, 2025)
    css = (
        ".article { max-width: 720px; margin: 0 auto; padding: 40px 24px; font-size: 18px; }\n"
        ".meta { opacity: 0.7; font-size: 14px; }\n"
        f"blockquote {{ border-left: 4px solid {theme.accent}; margin: 24px 0; padding: 8px 20px;"
        " font-style: italic; }\n"
        f"h2 {{ color: {theme.accent}; margin-top: 36px; }}\n"
        ".bio { display: flex; gap: 16px; align-items: center; margin-top: 40px; }\n"
        f".avatar {{ width: 56px; height: 56px; border-radius: 50%; background: {theme.accent}; color: #fff;"
        " display: flex; align-items: center; justify-content: center; font-weight: 700; }\n"
    )
    sections = words.pick(rng, _SECTION_HEADS, rng.randint(2, 4))
    body = nav(rng, words.brand(rng), voice) + '<main class="article">\n<article>\n'
    body += f"<h1>{voice.heading(headline)}</h1>\n"
    minutes = rng.randint(3, 12)
    body += f'<p class="meta">By {author} &middot; {month} {day}, {year} &middot; {minutes} min read</p>\n'
    body += f"<p>{voice.paragraph(3)}</p>\n"
    for i, head in enumerate(sections):
        body += f"<h2>{voice.heading(head)}</h2>\n<p>{voice.paragraph(rng.randint(2, 4))}</p>\n"
        if i == 0 and rng.random() < 0.6:
            body += f"<blockquote>{voice.sentence()}</blockquote>\n"
        if i == 1 and rng.random() < 0.6:
            body += "<ul>" + "".join(f"<li>{voice.sentence()}</li>" for _ in range(3)) + "</ul>\n"
    initials = "".join(part[0] for part in author.split())
    body += f'</article>\n<div class="card bio"><div class="avatar">{initials}</div>'
    body += f"<div><strong>{author}</strong>"
    body += f"<p>{voice.sentence()}</p></div></div>\n</main>\n" + footer(rng, words.brand(rng))
    what = f'Blog article "{headline}" by {author} with {len(sections)} sections and an author card'
    return headline, what, body, css


_STATUSES = (("Paid", "#16a34a"), ("Pending", "#d97706"), ("Refunded", "#6b7280"), ("Failed", "#dc2626"))


def dashboard(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    name = words.brand(rng)
    kpis = words.pick(rng, ("Revenue", "Orders", "Visitors", "Conversion", "Refunds", "Sign-ups", "Churn"), 4)
    css = (
        ".shell { display: grid; grid-template-columns: 220px 1fr; min-height: 100vh; }\n"
        f".side {{ background: {theme.accent}; color: #ffffff; padding: 24px; }}\n"
        ".side div { padding: 8px 0; opacity: 0.85; }\n.content { padding: 28px; }\n"
        ".kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 16px; margin-bottom: 24px; }\n"
        ".value { font-size: 28px; font-weight: 700; }\n.up { color: #16a34a; }\n.down { color: #dc2626; }\n"
        "table { width: 100%; border-collapse: collapse; }\n"
        "th, td { text-align: left; padding: 10px; border-bottom: 1px solid rgba(128, 128, 128, 0.3); }\n"
        ".pill { color: #ffffff; border-radius: 999px; padding: 2px 10px; font-size: 12px; }\n"
        ".bars { display: flex; align-items: flex-end; gap: 8px; height: 160px; margin: 12px 0 24px; }\n"
        f".bars div {{ flex: 1; background: {theme.accent}; border-radius: 4px 4px 0 0; }}\n"
    )
    menu = "".join(f"<div>{voice.heading(m)}</div>" for m in ("Overview", "Orders", "Customers", "Reports", "Settings"))
    cards = ""
    for kpi in kpis:
        change = rng.uniform(-12, 18)
        arrow, cls = ("&#9650;", "up") if change >= 0 else ("&#9660;", "down")
        value = f"{rng.uniform(1, 99):.1f}%" if kpi in ("Conversion", "Churn") else f"{rng.randint(120, 98000):,}"
        cards += (
            f'<div class="card"><div>{voice.heading(kpi)}</div><div class="value">{value}</div>'
            f'<div class="{cls}">{arrow} {abs(change):.1f}%</div></div>\n'
        )
    rows = ""
    row_count = rng.randint(4, 8)
    for _ in range(row_count):
        status, color = rng.choice(_STATUSES)
        rows += (
            f"<tr><td>#{rng.randint(1000, 9999)}</td><td>{words.person(rng)}</td>"
            f"<td>{rng.choice(words.MONTHS)} {rng.randint(1, 28)}</td><td>${rng.uniform(12, 900):.2f}</td>"
            f'<td><span class="pill" style="background: {color};">{status}</span></td></tr>\n'
        )
    body = f'<div class="shell">\n<aside class="side"><h2>{name}</h2>{menu}</aside>\n<main class="content">\n'
    body += f'<h1>{voice.heading("Overview")}</h1>\n<div class="kpis">\n{cards}</div>\n'
    if rng.random() < 0.6:
        heights = "".join(f'<div style="height: {rng.randint(15, 100)}%;"></div>' for _ in range(12))
        body += f'<div class="card"><h3>{voice.heading("Weekly sales")}</h3>'
        body += f'<div class="bars">{heights}</div></div>\n'
    body += f'<div class="card"><h3>{voice.heading("Recent orders")}</h3>\n<table>\n<thead><tr><th>Order</th>'
    body += "<th>Customer</th><th>Date</th><th>Amount</th><th>Status</th></tr></thead>\n"
    body += f"<tbody>\n{rows}</tbody>\n</table>\n</div>\n</main>\n</div>\n"
    what = f"Analytics dashboard for {name} with a sidebar, 4 KPI cards and a table of {row_count} orders"
    return f"{name} dashboard", what, body, css


_DOC_PAGES = (
    "Installation",
    "Quick start",
    "Configuration",
    "Authentication",
    "Webhooks",
    "Rate limits",
    "Errors",
)
_COMMANDS = (
    "pip install {tool}",
    "npm install --save {tool}",
    "{tool} init --template basic",
    "{tool} deploy --region eu-west",
    "export {upper}_TOKEN=your-token",
)
_OPTIONS = (
    ("timeout", "integer", "30", "Seconds to wait before giving up."),
    ("retries", "integer", "3", "How many times a failed call is repeated."),
    ("verbose", "boolean", "false", "Print every request to the console."),
    ("region", "string", "us-east", "Where your data is stored."),
    ("cache_dir", "string", "~/.cache", "Folder for downloaded files."),
    ("batch_size", "integer", "100", "Number of records sent per request."),
)


def docs(rng: random.Random, voice: Voice, theme: Theme) -> tuple[str, str, str, str]:
    tool = rng.choice(words.BRAND_HEADS).lower() + rng.choice(("cli", "kit", "sdk", "ctl"))
    pages = words.pick(rng, _DOC_PAGES, rng.randint(4, 7))
    current = rng.randrange(len(pages))
    css = (
        ".docs { display: grid; grid-template-columns: 240px 1fr; gap: 32px; }\n"
        ".sidebar { border-right: 1px solid rgba(128, 128, 128, 0.3); padding: 24px 16px; }\n"
        ".sidebar div { padding: 6px 10px; border-radius: 6px; }\n"
        f".sidebar .active {{ background: {theme.accent}; color: #ffffff; }}\n"
        ".page { padding: 24px 0; max-width: 760px; }\n"
        "pre { background: #0f172a; color: #e2e8f0; padding: 16px; border-radius: 8px; overflow-x: auto; }\n"
        "code { font-family: 'Courier New', monospace; }\n"
        "table { border-collapse: collapse; width: 100%; }\n"
        "th, td { border: 1px solid rgba(128, 128, 128, 0.4); padding: 8px; text-align: left; }\n"
        f".note {{ border-left: 4px solid {theme.accent}; background: rgba(128, 128, 128, 0.1);"
        " padding: 12px 16px; }\n"
    )
    side = "".join(
        f'<div class="active">{voice.heading(p)}</div>' if i == current else f"<div>{voice.heading(p)}</div>"
        for i, p in enumerate(pages)
    )
    commands = "\n".join(c.format(tool=tool, upper=tool.upper()) for c in words.pick(rng, _COMMANDS, rng.randint(1, 3)))
    options = words.pick(rng, _OPTIONS, rng.randint(2, 5))
    table = "".join(f"<tr><td><code>{o}</code></td><td>{t}</td><td>{d}</td><td>{x}</td></tr>" for o, t, d, x in options)
    body = f'<div class="docs container">\n<aside class="sidebar"><strong>{tool}</strong>{side}</aside>\n'
    body += f'<main class="page">\n<h1>{voice.heading(pages[current])}</h1>\n<p>{voice.paragraph(2)}</p>\n'
    body += f"<pre><code>{commands}</code></pre>\n<h2>{voice.heading('Options')}</h2>\n"
    body += "<table><thead><tr><th>Name</th><th>Type</th><th>Default</th><th>Description</th></tr></thead>\n"
    body += f"<tbody>{table}</tbody></table>\n"
    if rng.random() < 0.6:
        body += f'<p class="note"><strong>Note:</strong> {voice.sentence()}</p>\n'
    body += "</main>\n</div>\n"
    what = f'Documentation page "{pages[current]}" for {tool} with a sidebar of {len(pages)} pages'
    what += " and an options table"
    return f"{tool} docs - {pages[current]}", what, body, css
