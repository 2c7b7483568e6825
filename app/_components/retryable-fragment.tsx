"use client";

import { useState, useTransition, type ReactNode } from "react";
import { retryFragment } from "@/app/actions";
import { FragmentNotice } from "./fragment-notice";

/**
 * A fragment that is still working, failed or busy (`children`, rendered on the server), with a control that
 * asks again, with the same parameters (`input`), without reloading the page: the server answers with the
 * part rendered anew.
 */
export function RetryableFragment({
  name,
  input,
  ready,
  children,
}: {
  name: string;
  input: Readonly<Record<string, string | string[]>>;
  ready: boolean;
  children: ReactNode;
}) {
  const [shown, setShown] = useState({ ready, view: children });
  const [retrying, startRetry] = useTransition();

  const retry = () =>
    startRetry(async () => {
      try {
        setShown(await retryFragment(name, input));
      } catch {
        setShown({ ready: false, view: <FragmentNotice result={{ status: "error", name, ms: 0 }} /> });
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
