"use client";

import { useState, useTransition, type ReactNode } from "react";
import { retryFragment } from "@/app/actions";
import { FragmentNotice } from "./fragment-notice";

/**
 * A fragment that is still working or failed (`children`, rendered on the server), with a control that asks
 * again without reloading the page: the server answers with the part rendered anew.
 */
export function RetryableFragment({ name, ready, children }: { name: string; ready: boolean; children: ReactNode }) {
  const [shown, setShown] = useState({ ready, view: children });
  const [retrying, startRetry] = useTransition();

  const retry = () =>
    startRetry(async () => {
      try {
        setShown(await retryFragment(name));
      } catch {
        setShown({ ready: false, view: <FragmentNotice status="error" name={name} /> });
      }
    });

  return (
    <>
      {shown.view}
      {!shown.ready && (
        <button type="button" className="retry" onClick={retry} disabled={retrying} aria-busy={retrying}>
          {retrying ? "Retrying…" : `Retry ${name}`}
        </button>
      )}
    </>
  );
}
