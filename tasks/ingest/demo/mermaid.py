"""Mermaid diagrams: flowcharts, sequence, class and state diagrams, pie charts and Gantt charts."""

from __future__ import annotations

import random

from . import words

KEYWORDS = ("flowchart", "graph", "sequenceDiagram", "classDiagram", "stateDiagram-v2", "pie", "gantt")

_FLOWS = (
    ("Start", "Load data", "Data valid?", "Process records", "Log error", "Save results", "End"),
    ("Start", "Receive order", "In stock?", "Ship order", "Notify customer", "Send invoice", "End"),
    ("Begin", "Read request", "Authorized?", "Handle request", "Return 403", "Write response", "Done"),
    ("Start", "Draft article", "Approved?", "Publish", "Request changes", "Share link", "Finish"),
)


def flowchart(rng: random.Random) -> tuple[str, str]:
    start, first, question, yes, no, after, end = rng.choice(_FLOWS)
    head = rng.choice(("flowchart", "flowchart", "graph"))
    direction = rng.choice(("TD", "LR", "TB"))
    loop = rng.random() < 0.4
    lines = [
        f"{head} {direction}",
        f"    A([{start}]) --> B[{first}]",
        f"    B --> C{{{question}}}",
        f"    C -->|Yes| D[{yes}]",
        f"    C -->|No| E[{no}]",
        f"    D --> F[{after}]",
        "    E --> B" if loop else f"    E --> G([{end}])",
        f"    F --> G([{end}])" if loop else "    F --> G",
    ]
    if rng.random() < 0.5:
        fill, stroke = rng.choice((("#d1fae5", "#059669"), ("#dbeafe", "#2563eb"), ("#fee2e2", "#dc2626")))
        lines += [f"    classDef key fill:{fill},stroke:{stroke},stroke-width:2px", "    class C key"]
    back = " with a retry loop" if loop else ""
    return "\n".join(
        lines
    ) + "\n", f"Mermaid {direction} flowchart from '{start}' through the decision '{question}'{back}"


_ACTORS = (
    ("U", "User"),
    ("W", "Web App"),
    ("A", "API Server"),
    ("D", "Database"),
    ("C", "Cache"),
    ("Q", "Queue"),
    ("M", "Mail Service"),
)
_CALLS = ("Send request", "Validate token", "Fetch records", "Store result", "Publish event", "Look up key")
_REPLIES = ("OK", "Records", "Token valid", "Stored", "Ack", "Not found", "Result")


def sequence(rng: random.Random) -> tuple[str, str]:
    actors = [_ACTORS[0], *rng.sample(_ACTORS[1:], rng.randint(2, 4))]
    lines = ["sequenceDiagram"]
    if rng.random() < 0.4:
        lines.append("    autonumber")
    for short, name in actors:
        kind = "actor" if short == "U" and rng.random() < 0.5 else "participant"
        lines.append(f"    {kind} {short} as {name}")
    for (a, _), (b, _) in zip(actors, actors[1:], strict=False):
        lines.append(f"    {a}->>{b}: {rng.choice(_CALLS)}")
    if rng.random() < 0.5:
        a, b = actors[-2][0], actors[-1][0]
        note = rng.choice(("Runs in a transaction", "Cached for 5 minutes", "Retried twice"))
        lines.append(f"    Note over {a},{b}: {note}")
    for (a, _), (b, _) in reversed(list(zip(actors, actors[1:], strict=False))):
        lines.append(f"    {b}-->>{a}: {rng.choice(_REPLIES)}")
    if rng.random() < 0.5:
        lines += [
            "    loop Every 30 seconds",
            f"        {actors[0][0]}->>{actors[1][0]}: Poll for updates",
            "    end",
        ]
    elif rng.random() < 0.5:
        a, b = actors[0][0], actors[1][0]
        lines += [
            "    alt request accepted",
            f"        {b}-->>{a}: Show confirmation",
            "    else request rejected",
            f"        {b}-->>{a}: Show error",
            "    end",
        ]
    names = ", ".join(name for _, name in actors)
    return "\n".join(lines) + "\n", f"Mermaid sequence diagram of a request passing between {names}"


_CLASSES = (
    ("Animal", ("+String name", "+int age"), ("+eat() void", "+sleep() void"), ("Dog", "Cat", "Bird")),
    ("Shape", ("+String color",), ("+area() float", "+perimeter() float"), ("Circle", "Square", "Triangle")),
    (
        "Account",
        ("-float balance", "+String owner"),
        ("+deposit(amount) void", "+withdraw(amount) bool"),
        ("SavingsAccount", "CheckingAccount"),
    ),
    (
        "Vehicle",
        ("+int wheels", "+String brand"),
        ("+start() void", "+stop() void"),
        ("Car", "Truck", "Bike"),
    ),
)


def class_diagram(rng: random.Random) -> tuple[str, str]:
    base, fields, methods, children = rng.choice(_CLASSES)
    kids = rng.sample(children, rng.randint(2, len(children)))
    lines = ["classDiagram", f"    class {base} {{"]
    lines += [f"        {member}" for member in (*fields, *methods)]
    lines.append("    }")
    for kid in kids:
        lines.append(f"    {base} <|-- {kid}")
        if rng.random() < 0.5:
            kind, field = rng.choice(("int", "String", "bool")), rng.choice(("id", "label", "active"))
            lines.append(f"    {kid} : +{kind} {field}")
    if rng.random() < 0.6:
        owner = rng.choice(("Owner", "Registry", "Garage", "Bank", "Canvas"))
        lines.append(f'    {owner} "1" o-- "many" {base} : holds')
    names = ", ".join(kids)
    return "\n".join(lines) + "\n", f"Mermaid class diagram of {base} with subclasses {names}"


_MACHINES = (
    ("Idle", "Running", "Paused", ("start", "pause", "resume", "stop")),
    ("Draft", "Review", "Published", ("submit", "reject", "approve", "archive")),
    ("Locked", "Unlocked", "Open", ("insert coin", "timeout", "push", "close")),
    ("Pending", "Processing", "Shipped", ("pay", "hold", "dispatch", "deliver")),
    ("Offline", "Connecting", "Online", ("dial", "drop", "handshake", "hang up")),
    ("Queued", "Building", "Deployed", ("pick up", "fail", "succeed", "retire")),
    ("Open", "InProgress", "Resolved", ("assign", "reopen", "fix", "close")),
    ("Green", "Yellow", "Red", ("timer", "reset", "timer", "timer")),
)
_NOTES = (
    "Times out after 10 minutes",
    "Only admins can leave this state",
    "Logged for auditing",
    "Retries 3 times",
)
_SUBSTEPS = (
    ("Validating", "Saving"),
    ("Loading", "Ready"),
    ("Checking", "Confirmed"),
    ("Warming", "Serving"),
)


def state(rng: random.Random) -> tuple[str, str]:
    first, second, third, (go, back, onward, done) = rng.choice(_MACHINES)
    lines = ["stateDiagram-v2"]
    if rng.random() < 0.3:
        lines.append(f"    direction {rng.choice(('LR', 'TB'))}")
    lines += [
        f"    [*] --> {first}",
        f"    {first} --> {second} : {go}",
        f"    {second} --> {first} : {back}",
        f"    {second} --> {third} : {onward}",
        f"    {third} --> [*] : {done}",
    ]
    extras = []
    if rng.random() < 0.4:
        origin = rng.choice((first, second, third))
        lines += [f"    {origin} --> Failed : error", "    Failed --> [*]"]
        extras.append("a failure state")
    if rng.random() < 0.35:
        inner_a, inner_b = rng.choice(_SUBSTEPS)
        lines += [
            f"    state {second} {{",
            f"        [*] --> {inner_a}",
            f"        {inner_a} --> {inner_b}",
            f"        {inner_b} --> [*]",
            "    }",
        ]
        extras.append(f"{second} broken into {inner_a} and {inner_b}")
    if rng.random() < 0.4:
        side = rng.choice(("right", "left"))
        lines += [
            f"    note {side} of {rng.choice((first, third))}",
            f"        {rng.choice(_NOTES)}",
            "    end note",
        ]
        extras.append("a note")
    if rng.random() < 0.3:
        fill = rng.choice(("#fde68a", "#bbf7d0", "#bfdbfe", "#fecaca"))
        lines += [f"    classDef highlight fill:{fill},stroke:#333", f"    class {third} highlight"]
    extra = (" with " + ", ".join(extras)) if extras else ""
    return "\n".join(lines) + "\n", f"Mermaid state diagram with states {first}, {second} and {third}{extra}"


def pie(rng: random.Random) -> tuple[str, str]:
    family = rng.choice(("fruit", "language", "energy source", "department"))
    pool = {"fruit": words.FRUITS, "language": words.LANGUAGES, "energy source": words.ENERGY}
    labels = words.pick(rng, pool.get(family, words.DEPARTMENTS), rng.randint(3, 6))
    title = rng.choice(("Share of", "Votes for", "Usage by")) + f" {family}"
    head = ["pie showData", f"    title {title}"] if rng.random() < 0.3 else [f"pie title {title}"]
    lines = head + [f'    "{label}" : {rng.randint(5, 400)}' for label in labels]
    return "\n".join(lines) + "\n", f"Mermaid pie chart titled '{title}' with {len(labels)} slices"


_PHASES = (
    ("Design", ("Research", "Wireframes", "Mockups")),
    ("Build", ("Backend API", "Frontend", "Integrations")),
    ("Test", ("Unit tests", "Beta program")),
    ("Launch", ("Marketing", "Release")),
)


def gantt(rng: random.Random) -> tuple[str, str]:
    month, day = rng.randint(1, 12), rng.randint(1, 20)
    year = rng.randint(2023, 2026)
    project = f"{words.brand(rng)} rollout"
    lines = ["gantt", f"    title {project}", "    dateFormat YYYY-MM-DD"]
    if rng.random() < 0.4:
        lines.append("    axisFormat %b %d")
    phases = _PHASES[: rng.randint(2, 4)]
    previous = ""
    count = 0
    for phase, tasks in phases:
        lines.append(f"    section {phase}")
        for task in tasks[: rng.randint(1, len(tasks))]:
            count += 1
            tag = f"t{count}"
            status = ""
            if count == 1:
                status = "done, "
            elif count == 2 and rng.random() < 0.5:
                status = "active, "
            when = f"after {previous}" if previous else f"{year}-{month:02d}-{day:02d}"
            lines.append(f"    {task} :{status}{tag}, {when}, {rng.randint(2, 14)}d")
            previous = tag
    return "\n".join(
        lines
    ) + "\n", f"Mermaid Gantt chart of the {project} with {len(phases)} sections and {count} tasks"
