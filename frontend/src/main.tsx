import { lazy, StrictMode, Suspense, type ComponentType } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createBrowserRouter, RouterProvider } from "react-router";
import { WorkflowsList } from "./workflows-list/WorkflowsList";
import { AppShell } from "./components/AppShell";
import { CanvasRoute } from "./canvas/CanvasRoute";
import { SessionDialog } from "./session/SessionDialog";
import "./styles.css";

// The versions screens (history, one version read-only, a comparison): one chunk, loaded on first visit.
const HistoryPage = lazy(() => import("./versions/pages").then((pages) => ({ default: pages.HistoryPage })));
const VersionPage = lazy(() => import("./versions/pages").then((pages) => ({ default: pages.VersionPage })));
const ComparePage = lazy(() => import("./versions/pages").then((pages) => ({ default: pages.ComparePage })));
// The executions screens (the list and one execution): one chunk.
const ExecutionsPage = lazy(() => import("./executions/pages").then((pages) => ({ default: pages.ExecutionsPage })));
const ExecutionPage = lazy(() => import("./executions/pages").then((pages) => ({ default: pages.ExecutionPage })));
// The contact screens (search, one contact's page): one chunk, loaded on first visit.
const ContactsSearch = lazy(() => import("./contacts/pages").then((pages) => ({ default: pages.ContactsSearch })));
const ContactPage = lazy(() => import("./contacts/pages").then((pages) => ({ default: pages.ContactPage })));

/** Routes whose pages come in a chunk of their own, with what is said while it loads. */
function lazyRoutes(loading: string, routes: { path: string; Page: ComponentType }[]) {
  return routes.map(({ path, Page }) => ({
    path,
    element: (
      <Suspense fallback={<p className="loading">{loading}</p>}>
        <Page />
      </Suspense>
    ),
  }));
}
// The template gallery and a template's page (the marketplace): one chunk, loaded on first visit.
const GalleryPage = lazy(() => import("./marketplace/pages").then((pages) => ({ default: pages.GalleryPage })));
const TemplatePage = lazy(() => import("./marketplace/pages").then((pages) => ({ default: pages.TemplatePage })));
// The analytics screen and its chart library: loaded on first visit only.
const AnalyticsPage = lazy(() => import("./analytics/AnalyticsPage"));

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } },
});

const router = createBrowserRouter(
  [
    {
      element: <AppShell />,
      children: [
        { index: true, element: <WorkflowsList /> },
        { path: "workflows/:workflowId", element: <CanvasRoute /> },
        ...lazyRoutes("Loading the versions…", [
          { path: "workflows/:workflowId/versions", Page: HistoryPage },
          { path: "workflows/:workflowId/versions/:number", Page: VersionPage },
          { path: "workflows/:workflowId/compare", Page: ComparePage },
        ]),
        ...lazyRoutes("Loading the analytics…", [{ path: "workflows/:workflowId/analytics", Page: AnalyticsPage }]),
        ...lazyRoutes("Loading the executions…", [
          { path: "executions", Page: ExecutionsPage },
          { path: "executions/:executionId", Page: ExecutionPage },
        ]),
        ...lazyRoutes("Loading the contacts…", [
          { path: "contacts", Page: ContactsSearch },
          { path: "contacts/:contactId", Page: ContactPage },
        ]),
        ...lazyRoutes("Loading the templates…", [
          { path: "templates", Page: GalleryPage },
          { path: "templates/:slug", Page: TemplatePage },
          { path: "templates/shared/:token", Page: TemplatePage },
        ]),
        { path: "*", element: <p className="empty">There is no such page in the builder.</p> },
      ],
    },
  ],
  { basename: "/builder" },
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <SessionDialog />
    </QueryClientProvider>
  </StrictMode>,
);
