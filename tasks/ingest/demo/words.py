"""Small inline vocabularies shared by the demo corpus generators.

Everything here is plain data: English words and phrases, names, colours and a
few foreign-language sentences.  Nothing is read from disk at run time.
"""

from __future__ import annotations

import random

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")

REGIONS = ("North", "South", "East", "West", "Central", "Coastal", "Mountain", "Northeast", "Pacific")
CITIES = (
    "Oslo",
    "Lisbon",
    "Denver",
    "Osaka",
    "Nairobi",
    "Lima",
    "Dublin",
    "Perth",
    "Austin",
    "Seoul",
    "Madrid",
    "Toronto",
    "Cairo",
    "Quito",
    "Hanoi",
)
PRODUCTS = (
    "Laptops",
    "Phones",
    "Tablets",
    "Monitors",
    "Printers",
    "Cameras",
    "Headsets",
    "Routers",
    "Speakers",
    "Watches",
)
FRUITS = ("Apples", "Bananas", "Cherries", "Grapes", "Mangoes", "Oranges", "Pears", "Plums", "Kiwis")
LANGUAGES = ("Python", "Java", "Go", "Rust", "C++", "Kotlin", "Swift", "Ruby", "TypeScript", "Scala")
DEPARTMENTS = ("Sales", "Marketing", "Support", "Research", "Finance", "Legal", "Operations", "Design")
SPORTS = ("Running", "Cycling", "Swimming", "Tennis", "Rowing", "Hiking", "Yoga", "Climbing")
ENERGY = ("Solar", "Wind", "Hydro", "Nuclear", "Gas", "Coal", "Biomass", "Geothermal")
MODELS = ("Baseline", "Model A", "Model B", "Ensemble", "Transformer", "CNN", "LSTM", "Linear")

CATEGORY_SETS = {
    "region": REGIONS,
    "city": CITIES,
    "product": PRODUCTS,
    "fruit": FRUITS,
    "language": LANGUAGES,
    "department": DEPARTMENTS,
    "sport": SPORTS,
    "energy source": ENERGY,
    "model": MODELS,
}

# (metric, axis label, low, high) -- realistic ranges for generated values
METRICS = (
    ("revenue", "Revenue (k USD)", 40.0, 480.0),
    ("temperature", "Temperature (°C)", -4.0, 34.0),
    ("rainfall", "Rainfall (mm)", 5.0, 210.0),
    ("active users", "Active users (thousands)", 12.0, 260.0),
    ("response time", "Response time (ms)", 80.0, 900.0),
    ("accuracy", "Accuracy (%)", 55.0, 98.0),
    ("energy output", "Output (GWh)", 20.0, 640.0),
    ("customer satisfaction", "Satisfaction score", 2.0, 9.5),
    ("website visits", "Visits (thousands)", 8.0, 120.0),
    ("unit sales", "Units sold", 150.0, 2400.0),
    ("air quality index", "AQI", 15.0, 160.0),
    ("memory usage", "Memory (GB)", 1.5, 30.0),
    ("calories burned", "Calories (kcal)", 150.0, 900.0),
)

# which category families make sense for each metric
METRIC_SUBJECTS = {
    "revenue": ("region", "city", "product", "department"),
    "temperature": ("city",),
    "rainfall": ("city", "region"),
    "active users": ("product", "language", "region"),
    "response time": ("model", "region", "language"),
    "accuracy": ("model",),
    "energy output": ("energy source", "region"),
    "customer satisfaction": ("product", "department", "city"),
    "website visits": ("region", "city", "product"),
    "unit sales": ("product", "fruit", "region"),
    "air quality index": ("city",),
    "memory usage": ("model", "language"),
    "calories burned": ("sport",),
}

HEX_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#264653",
    "#2a9d8f",
    "#e9c46a",
    "#f4a261",
    "#e76f51",
    "#3a86ff",
    "#8338ec",
    "#ff006e",
    "#fb5607",
    "#06d6a0",
    "#118ab2",
    "#073b4c",
    "#ef476f",
    "#ffd166",
)
NAMED_COLORS = (
    "steelblue",
    "tomato",
    "seagreen",
    "darkorange",
    "slateblue",
    "goldenrod",
    "crimson",
    "teal",
    "orchid",
    "olive",
    "navy",
    "coral",
    "indigo",
    "sienna",
    "darkcyan",
)
COLORMAPS = (
    "viridis",
    "plasma",
    "magma",
    "cividis",
    "coolwarm",
    "YlGnBu",
    "RdYlGn",
    "Blues",
    "OrRd",
    "PuBuGn",
)

FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Diego",
    "Elena",
    "Farah",
    "Hugo",
    "Iris",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
)
LAST_NAMES = (
    "Reyes",
    "Novak",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Patel",
    "Schmidt",
    "Costa",
    "Walsh",
)

BRAND_HEADS = (
    "Nova",
    "Blue",
    "Bright",
    "Cedar",
    "Pixel",
    "Quartz",
    "Lumen",
    "Orbit",
    "Atlas",
    "Harbor",
    "Maple",
)
BRAND_TAILS = ("Labs", "Works", "Cloud", "Stack", "Flow", "Forge", "Hub", "Desk", "Sync", "Wave", "Path")

ADJECTIVES = (
    "fast",
    "simple",
    "reliable",
    "secure",
    "flexible",
    "modern",
    "lightweight",
    "friendly",
    "powerful",
    "scalable",
    "focused",
    "elegant",
)
NOUNS = (
    "workflow",
    "dashboard",
    "report",
    "team",
    "project",
    "budget",
    "inventory",
    "schedule",
    "pipeline",
    "archive",
    "calendar",
    "campaign",
)
VERBS = (
    "organize",
    "track",
    "share",
    "automate",
    "plan",
    "review",
    "publish",
    "measure",
    "simplify",
    "protect",
)
AUDIENCES = ("small teams", "designers", "students", "developers", "shop owners", "researchers", "nonprofits")
ADVERBS = (
    "in minutes",
    "without the hassle",
    "from anywhere",
    "with confidence",
    "every day",
    "at any scale",
)

FEATURES = (
    ("Instant sync", "Changes appear on every device the moment you save them."),
    ("Smart search", "Find any file, note or message with a few keystrokes."),
    ("Team spaces", "Give every group its own space with the right permissions."),
    ("Offline mode", "Keep working on the train and catch up when you reconnect."),
    ("Clear reports", "Weekly summaries show what moved forward and what stalled."),
    ("Private by default", "Your data stays encrypted at rest and in transit."),
    ("Custom fields", "Track exactly the details that matter to your process."),
    ("Fair pricing", "Pay only for the seats you use, month by month."),
    ("Quick import", "Bring your spreadsheets over without retyping a thing."),
    ("Helpful reminders", "Gentle nudges keep deadlines from slipping by."),
)

TOPICS = (
    "remote work",
    "home gardening",
    "budget travel",
    "urban cycling",
    "healthy cooking",
    "learning to code",
    "photography basics",
    "personal finance",
    "sleep habits",
    "board games",
)

FOREIGN_SENTENCES = {
    "fr": (
        "Notre équipe vous aide à organiser vos projets chaque jour.",
        "Découvrez une nouvelle façon de travailler ensemble.",
        "Les données restent privées et protégées en permanence.",
        "Commencez gratuitement et invitez vos collègues plus tard.",
        "Chaque rapport montre clairement les progrès de la semaine.",
        "Le service fonctionne aussi bien sur mobile que sur ordinateur.",
    ),
    "de": (
        "Unser Team hilft Ihnen, Ihre Projekte jeden Tag zu planen.",
        "Entdecken Sie eine neue Art der Zusammenarbeit.",
        "Ihre Daten bleiben jederzeit privat und geschützt.",
        "Starten Sie kostenlos und laden Sie später Kollegen ein.",
        "Jeder Bericht zeigt deutlich den Fortschritt der Woche.",
        "Der Dienst funktioniert auf dem Handy genauso gut wie am Computer.",
    ),
    "es": (
        "Nuestro equipo le ayuda a organizar sus proyectos cada día.",
        "Descubra una nueva forma de trabajar en conjunto.",
        "Sus datos permanecen privados y protegidos en todo momento.",
        "Empiece gratis e invite a sus colegas más adelante.",
        "Cada informe muestra con claridad el progreso de la semana.",
        "El servicio funciona igual de bien en el móvil que en el ordenador.",
    ),
}
FOREIGN_HEADINGS = {
    "fr": ("Bienvenue", "Fonctionnalités", "Tarifs", "Contact", "Inscription"),
    "de": ("Willkommen", "Funktionen", "Preise", "Kontakt", "Anmeldung"),
    "es": ("Bienvenido", "Funciones", "Precios", "Contacto", "Registro"),
}


def brand(rng: random.Random) -> str:
    """A made-up product or company name such as 'CedarFlow'."""
    return rng.choice(BRAND_HEADS) + rng.choice(BRAND_TAILS)


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def sentence(rng: random.Random) -> str:
    """One plausible marketing-style English sentence."""
    pattern = rng.randrange(4)
    adj, noun, verb = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(VERBS)
    if pattern == 0:
        return f"A {adj} way for {rng.choice(AUDIENCES)} to {verb} every {noun} {rng.choice(ADVERBS)}."
    if pattern == 1:
        return f"We built this {noun} tool to help you {verb} your work {rng.choice(ADVERBS)}."
    if pattern == 2:
        return f"Teams use it to {verb} the {noun} and keep everyone on the same page."
    return f"Stay {adj} and {verb} what matters, {rng.choice(ADVERBS)}."


def paragraph(rng: random.Random, sentences: int = 3) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def pick(rng: random.Random, pool: tuple[str, ...], count: int) -> list[str]:
    """`count` distinct items of `pool` in random order (count is clipped to the pool size)."""
    return rng.sample(pool, min(count, len(pool)))
