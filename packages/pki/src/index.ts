/**
 * X.509, CSR, CRL, OCSP, CMS and RFC 3161 codecs and path validation arrive with the PKI milestone (issue 4).
 * Until then this package exports nothing.
 */
export const PKI_PACKAGE = '@yiqian/pki'
