import { Link, NavLink, Outlet } from "react-router";
import { csrfToken } from "../api/client";

/** The bar on every page: home, the templates, the executions, and logging out (a POST with the CSRF token, as Django requires). */
export function AppShell() {
  return (
    <div className="shell">
      <nav className="topbar" aria-label="Builder">
        <Link to="/" className="brand">
          PenguinFlow builder
        </Link>
        <NavLink to="/templates" className="topbar-link">
          Templates
        </NavLink>
        <NavLink to="/executions" className="topbar-link">
          Executions
        </NavLink>
        <NavLink to="/contacts" className="topbar-link">
          Contacts
        </NavLink>
        <form method="post" action="/builder/logout">
          <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
          <button type="submit">Log out</button>
        </form>
      </nav>
      <Outlet />
    </div>
  );
}
