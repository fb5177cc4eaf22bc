import { lazy, StrictMode, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createBrowserRouter, RouterProvider } from "react-router";
import { WorkflowsList } from "./workflows-list/WorkflowsList";
import { AppShell } from "./components/AppShell";
import { SessionDialog } from "./session/SessionDialog";
import "./styles.css";

// The canvas (React Flow, the store, the forms) is a chunk of its own: the list page loads without it.
const CanvasPage = lazy(() => import("./canvas/CanvasPage"));
// The versions screens (history, one version read-only, a comparison): one chunk, loaded on first visit.
const HistoryPage = lazy(() => import("./versions/pages").then((pages) => ({ default: pages.HistoryPage })));
const VersionPage = lazy(() => import("./versions/pages").then((pages) => ({ default: pages.VersionPage })));
const ComparePage = lazy(() => import("./versions/pages").then((pages) => ({ default: pages.ComparePage })));
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
        {
          path: "workflows/:workflowId",
          element: (
            <Suspense fallback={<p className="loading">Loading the canvas…</p>}>
              <CanvasPage />
            </Suspense>
          ),
        },
        ...[
          { path: "workflows/:workflowId/versions", Page: HistoryPage },
          { path: "workflows/:workflowId/versions/:number", Page: VersionPage },
          { path: "workflows/:workflowId/compare", Page: ComparePage },
        ].map(({ path, Page }) => ({
          path,
          element: (
            <Suspense fallback={<p className="loading">Loading the versions…</p>}>
              <Page />
            </Suspense>
          ),
        })),
        {
          path: "workflows/:workflowId/analytics",
          element: (
            <Suspense fallback={<p className="loading">Loading the analytics…</p>}>
              <AnalyticsPage />
            </Suspense>
          ),
        },
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
