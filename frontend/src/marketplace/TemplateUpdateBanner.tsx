import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { templateOriginQuery } from "../canvas/canvasQueries";

/**
 * On the canvas of a workflow installed from a template: says when the template has a newer version. Installing
 * never updates a workflow by itself (running contacts stay on what was installed), so the marketer is told and
 * chooses: the link opens the template, where the new version can be read and installed as a new draft.
 */
export function TemplateUpdateBanner({ workflowId }: { workflowId: string }) {
  // Asked for as the canvas opened (canvasQueries): found there.
  const origin = useQuery(templateOriginQuery(workflowId));
  const found = origin.data;
  if (!found?.update_available || !found.template_slug) return null;
  return (
    <p className="notice notice-info" role="status">
      This workflow was installed from version {found.installed_version} of its template; version{" "}
      {found.latest_version} is out.{" "}
      <Link to={`/templates/${found.template_slug}`}>See the template</Link>
    </p>
  );
}
