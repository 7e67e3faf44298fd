// The shell: navigation, theme and the page for the current URL.
import { useState } from "preact/hooks";
import { href, useRoute, type Route } from "./router";
import { ExperimentsPage } from "./pages/experiments";
import { RunsPage } from "./pages/runs";
import { RunPage } from "./pages/run";
import { ComparePage } from "./pages/compare";
import { ModelsPage, ModelPage } from "./pages/models";
import { EndpointsPage, EndpointPage } from "./pages/endpoints";
import { BatchJobsPage, BatchJobPage } from "./pages/batch";
import { Empty } from "./components/common";

const sections = [
  { key: "experiments", label: "Experiments" },
  { key: "models", label: "Models" },
  { key: "endpoints", label: "Endpoints" },
  { key: "batch", label: "Batch jobs" },
];

/** The page for a route; exported for tests. */
export function pageFor(route: Route) {
  const [a, b, c, d] = route.parts;
  const q = route.query;
  switch (a ?? "experiments") {
    case "experiments":
      if (b === undefined) return <ExperimentsPage query={q} />;
      if (c === "runs" && d !== undefined) return <RunPage runId={d} query={q} />;
      return <RunsPage experimentId={b} query={q} />;
    case "runs":
      if (b !== undefined) return <RunPage runId={b} query={q} />;
      break;
    case "compare":
      return <ComparePage query={q} />;
    case "models":
      if (b === undefined) return <ModelsPage query={q} />;
      return <ModelPage name={b} version={c === "versions" ? d : undefined} query={q} />;
    case "endpoints":
      if (b === undefined) return <EndpointsPage />;
      return <EndpointPage name={b} />;
    case "batch":
      if (b === undefined) return <BatchJobsPage query={q} />;
      return <BatchJobPage id={b} />;
  }
  return (
    <Empty title="No such page">
      <p>
        Nothing lives at <code>{location.hash}</code>. Start from <a href={href(["experiments"])}>Experiments</a>.
      </p>
    </Empty>
  );
}

function toggleTheme(current: string): string {
  const next = current === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("plinth.theme", next);
  return next;
}

export function App() {
  const route = useRoute();
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? "light");
  const section = route.parts[0] === "runs" || route.parts[0] === "compare" ? "experiments" : (route.parts[0] ?? "experiments");
  return (
    <div class="shell">
      <nav class="topnav">
        <a class="brand" href="#/">Plinth</a>
        {sections.map((s) => (
          <a key={s.key} href={href([s.key])} class={section === s.key ? "active" : ""} data-testid={"nav-" + s.key}>
            {s.label}
          </a>
        ))}
        <span class="spacer" />
        <button class="ghost" data-testid="theme-toggle" title="Switch between the dark and the light theme" onClick={() => setTheme(toggleTheme(theme))}>
          {theme === "dark" ? "Light theme" : "Dark theme"}
        </button>
      </nav>
      <main>{pageFor(route)}</main>
    </div>
  );
}
