"use client";

import { useState, useTransition } from "react";
import { retryFragment } from "@/app/actions";
import type { FragmentResult } from "@/lib/fragment-result";
import { FragmentView } from "./fragment-view";

/** A fragment that is still working or failed, with a control that asks again without reloading the page. */
export function RetryableFragment({ initial }: { initial: FragmentResult }) {
  const [result, setResult] = useState(initial);
  const [retrying, startRetry] = useTransition();

  const retry = () =>
    startRetry(async () => {
      try {
        setResult(await retryFragment(result.name));
      } catch {
        setResult({ status: "error", name: result.name, ms: 0 });
      }
    });

  return (
    <>
      <FragmentView result={result} />
      {result.status !== "ready" && (
        <button type="button" className="retry" onClick={retry} disabled={retrying} aria-busy={retrying}>
          {retrying ? "Retrying…" : `Retry ${result.name}`}
        </button>
      )}
    </>
  );
}
