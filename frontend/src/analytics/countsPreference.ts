import { create } from "zustand";
import { persist } from "zustand/middleware";

interface CountsPreference {
  shown: boolean;
  toggle: () => void;
}

/**
 * Whether the canvas shows each step's counts. Off until asked for: while off, nothing is fetched or polled and the
 * canvas draws no badges, so editing a large draft costs nothing extra. The choice is remembered in the browser.
 */
export const useCountsPreference = create<CountsPreference>()(
  persist((set) => ({ shown: false, toggle: () => set((state) => ({ shown: !state.shown })) }), {
    name: "penguinflow.canvas-counts",
  }),
);
