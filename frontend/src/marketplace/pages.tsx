import { useEffect, useMemo, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { Link, useParams, useSearchParams } from "react-router";
import { useNodeTypes } from "../api/queries";
import type { GraphJson, SimulationStep } from "../api/types";
import { fromGraphJson } from "../canvas/graph";
import { ErrorNotice } from "../components/ErrorNotice";
import { pathHighlightOf } from "../testmode/highlight";
import { VersionCanvas } from "../versions/VersionCanvas";
import { useCanEdit } from "../access/access";
import { InstallDialog } from "./InstallDialog";
import { SaveTemplateDialog, ShareLink } from "./SaveTemplateDialog";
import { statsText, type GalleryFilters } from "./installLogic";
import { useTemplate, useTemplateCategories, useTemplates } from "./queries";
import type { TemplateDetail, TemplateListItem } from "./types";
import "./marketplace.css";

function useTitle(text: string) {
  useEffect(() => {
    document.title = `${text} · PenguinFlow`;
  }, [text]);
}

/** The gallery: every template this workspace may install, by category, searchable, sorted. */
export function GalleryPage() {
  useTitle("Templates");
  const [params, setParams] = useSearchParams();
  const filters: GalleryFilters = {
    category: params.get("category") ?? "",
    q: params.get("q") ?? "",
    sort: params.get("sort") === "newest" ? "newest" : "popular",
  };
  const [search, setSearch] = useState(filters.q);
  const [saving, setSaving] = useState(false);
  const canEdit = useCanEdit();
  const categories = useTemplateCategories();
  const templates = useTemplates(filters);
  const change = (key: keyof GalleryFilters, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  return (
    <main className="marketplace-page">
      <header className="marketplace-header">
        <h1>Workflow templates</h1>
        <p>Proven journeys to start from: install one, adjust it on the canvas, publish.</p>
        {canEdit && (
          <>
            <button type="button" onClick={() => setSaving(true)}>
              Save a workflow as a template
            </button>
            <SaveTemplateDialog open={saving} onClose={() => setSaving(false)} categories={categories.data ?? []} />
          </>
        )}
      </header>
      <div className="marketplace-layout">
        <nav aria-label="Categories" className="marketplace-categories">
          <button type="button" aria-pressed={!filters.category} onClick={() => change("category", "")}>
            All templates
          </button>
          {categories.data?.map((category) => (
            <button
              type="button"
              key={category.id}
              aria-pressed={filters.category === category.id}
              onClick={() => change("category", category.id)}
            >
              {category.label} <span className="count">{category.count}</span>
            </button>
          ))}
        </nav>
        <section className="marketplace-results" aria-label="Templates">
          <form
            className="marketplace-filters"
            role="search"
            onSubmit={(event) => {
              event.preventDefault();
              change("q", search.trim());
            }}
          >
            <label htmlFor="template-search">Search templates</label>
            <input id="template-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
            <button type="submit">Search</button>
            <label htmlFor="template-sort">Sort by</label>
            <select id="template-sort" value={filters.sort} onChange={(event) => change("sort", event.target.value)}>
              <option value="popular">Most installed</option>
              <option value="newest">Newest</option>
            </select>
          </form>
          <ErrorNotice error={templates.error} onRetry={() => void templates.refetch()} />
          {templates.data && templates.data.length === 0 && (
            <p className="empty">No template matches: try other words, or all categories.</p>
          )}
          {!templates.data && !templates.error && <p className="loading">Loading the templates…</p>}
          <ul className="template-cards">
            {templates.data?.map((template) => <TemplateCard key={template.slug} template={template} />)}
          </ul>
        </section>
      </div>
    </main>
  );
}

function TemplateCard({ template }: { template: TemplateListItem }) {
  return (
    <li className="template-card">
      <h2>
        <Link to={`/templates/${template.slug}`}>{template.name}</Link>
      </h2>
      <p className="template-category">{template.category.replace("-", " ")}{template.source !== "shipped" ? ` · ${template.source}` : ""}</p>
      <p>{template.description}</p>
      <p className="template-stats">{statsText(template.stats)}</p>
    </li>
  );
}

/** One template: what it does, drawn read-only with its sample run's path, its emails, parameters and needs. */
export function TemplatePage() {
  const { slug = "", token = "" } = useParams();
  const apiPath = token ? `shared-templates/${token}` : `workflow-templates/${slug}`;
  const template = useTemplate(apiPath);
  const nodeTypes = useNodeTypes();
  const [installing, setInstalling] = useState(false);
  const canEdit = useCanEdit();
  useTitle(template.data?.name ?? "Template");
  if (template.error) {
    return (
      <main className="marketplace-page">
        <ErrorNotice error={template.error} onRetry={() => void template.refetch()} />
        <Link to="/templates">Back to the templates</Link>
      </main>
    );
  }
  if (!template.data || !nodeTypes.data) return <p className="loading">Loading the template…</p>;
  const detail = template.data;
  return (
    <main className="marketplace-page template-page">
      <header className="marketplace-header">
        <Link to="/templates">All templates</Link>
        <h1>{detail.name}</h1>
        <p>{detail.description}</p>
        {detail.outcome && <p className="template-outcome">Expected outcome: {detail.outcome}</p>}
        <p className="template-stats">{statsText(detail.stats)}</p>
        {detail.stats.rates_hidden_because && <p className="hint">{detail.stats.rates_hidden_because}</p>}
        <ModerationNote detail={detail} />
        {canEdit && detail.source === "workspace" && <ShareLink slug={detail.slug} />}
        {canEdit && (
          <button type="button" className="primary" onClick={() => setInstalling(true)}>
            Install this template
          </button>
        )}
      </header>
      <section aria-label="The workflow" className="template-canvas">
        <SampleCanvas graph={detail.graph as GraphJson} path={detail.sample.path as unknown as SimulationStep[]} nodeTypes={nodeTypes.data} />
        <SamplePath detail={detail} />
      </section>
      <section aria-labelledby="template-emails">
        <h2 id="template-emails">Emails ({detail.emails.length})</h2>
        {detail.emails.map((email) => (
          <details key={email.id} className="template-email">
            <summary>
              {email.name}: <q>{email.subject}</q>
            </summary>
            <pre>{email.html}</pre>
          </details>
        ))}
      </section>
      <section aria-labelledby="template-parameters">
        <h2 id="template-parameters">Settings you can change</h2>
        {detail.parameters.length === 0 ? (
          <p>None: adjust it on the canvas after installing.</p>
        ) : (
          <ul>
            {detail.parameters.map((parameter) => (
              <li key={parameter.id}>
                {parameter.label} ({parameter.type}): {parameter.required ? "required" : `default ${String(parameter.default)}`}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="template-requires">
        <h2 id="template-requires">What it needs</h2>
        {detail.requires.length === 0 ? (
          <p>Nothing beyond its own emails.</p>
        ) : (
          <ul>
            {detail.requires.map((requirement) => (
              <li key={requirement.id}>
                {requirement.kind}: {requirement.name}
                {requirement.description && ` (${requirement.description})`}
              </li>
            ))}
          </ul>
        )}
      </section>
      {canEdit && <InstallDialog template={detail} apiPath={apiPath} open={installing} onClose={() => setInstalling(false)} />}
    </main>
  );
}

function ModerationNote({ detail }: { detail: TemplateDetail }) {
  const moderation = detail.moderation as { status?: string; reason?: string } | null;
  if (!moderation || moderation.status === "not_submitted") return null;
  return (
    <p className="notice">
      Community review: {moderation.status}
      {moderation.reason ? `. Reason: ${moderation.reason}` : ""}
    </p>
  );
}

function SampleCanvas({ graph, path, nodeTypes }: { graph: GraphJson; path: SimulationStep[]; nodeTypes: Parameters<typeof VersionCanvas>[0]["nodeTypes"] }) {
  const highlight = useMemo(() => pathHighlightOf(path, fromGraphJson(graph).edges), [graph, path]);
  return (
    <div className="canvas-body template-canvas-body">
      <ReactFlowProvider>
        <VersionCanvas graph={graph} nodeTypes={nodeTypes} label="The template's workflow, read-only" path={highlight} />
      </ReactFlowProvider>
    </div>
  );
}

function SamplePath({ detail }: { detail: TemplateDetail }) {
  const labels = new Map((detail.graph as GraphJson).nodes?.map((node) => [node.id, node.data?.label || node.id]));
  const sample = detail.sample;
  return (
    <div className="template-sample">
      <h2>Sample run</h2>
      <p>
        A contact ({String((sample.contact as { email?: string }).email ?? "a sample contact")}) with{" "}
        {sample.events.length === 0 ? "no events" : sample.events.map((event) => String(event.type)).join(", ")} ends{" "}
        {sample.expected_status}:
      </p>
      <ol aria-label="Sample path">
        {sample.expected_path.map((nodeId, index) => (
          <li key={`${nodeId}-${index}`}>{labels.get(nodeId) ?? nodeId}</li>
        ))}
      </ol>
    </div>
  );
}
