/** The product mark, inlined so the page needs no extra request; same drawing as the apps' favicon and icon.svg. */
export function LogoMark({ size = 32 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 64 64" aria-hidden="true" focusable="false">
      <rect width="64" height="64" rx="14" fill="#0b5d8f" />
      <path d="M27 9h10v10h10v10H37v10H27V29H17V19h10z" fill="#fff" />
      <path
        d="M13 52c4-6 8-7 10-3s4 4 7-1 6-5 8 0 5 3 13-1"
        fill="none"
        stroke="#7fd3c7"
        strokeWidth="3.5"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  )
}
