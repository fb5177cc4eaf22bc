import { useCallback, useRef } from "react";
import { useLocation } from "react-router";

/**
 * A ref maker that brings the element whose id the address's #hash names into view once it is drawn: the canvas's
 * badges link to a step's row of the funnel (#step-<id>) or to a split's test (#split-<id>), which appear only
 * after the figures load. Once per address: a refresh of the figures does not pull the page back there.
 */
export function useHashTarget(): (id: string) => (element: HTMLElement | null) => void {
  const { hash } = useLocation();
  const shownFor = useRef<string | null>(null);
  return useCallback(
    (id: string) => (element: HTMLElement | null) => {
      if (!element || shownFor.current === hash || decodeURIComponent(hash.slice(1)) !== id) return;
      shownFor.current = hash;
      element.scrollIntoView({ block: "start" });
    },
    [hash],
  );
}
