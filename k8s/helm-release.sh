#!/usr/bin/env bash
# Installs or removes a Helm release for the Tiltfile's k8s_custom_deploy
# resources. Tilt runs it when a resource deploys (`tilt up`) or is deleted
# (`tilt down`), never while it loads the Tiltfile, and points KUBECONFIG at
# the context it was started with. The Tiltfile passes every choice: chart
# repository, version, values, timeout.
#
#   helm-release.sh install NAMESPACE RELEASE CHART [HELM_FLAG...]
#   helm-release.sh uninstall NAMESPACE RELEASE [--crds SELECTOR] [--namespace]
#
# install runs `helm upgrade --install --wait`, so the release's workloads
# are ready when it returns, then prints the release's objects as they are in
# the cluster on stdout, which Tilt reads to follow their pods and logs.
# Helm's own output goes to stderr.
#
# uninstall removes the release, then, when asked, the CRDs matching the
# label selector (Helm installs a chart's CRDs but never deletes them) and
# the namespace. Both commands are safe to repeat: a missing release, CRD or
# namespace is skipped.
set -euo pipefail

usage() {
  sed -n 's/^#   //p' "$0" >&2
  exit 2
}

install_release() {
  [ $# -ge 3 ] || usage
  local namespace=$1 release=$2 chart=$3
  shift 3

  helm upgrade "$release" "$chart" --install --wait \
    --namespace "$namespace" --create-namespace "$@" >&2

  helm get manifest "$release" --namespace "$namespace" |
    kubectl get --namespace "$namespace" --output yaml --filename -
}

uninstall_release() {
  [ $# -ge 2 ] || usage
  local namespace=$1 release=$2
  shift 2
  local crds="" delete_namespace=false
  while [ $# -gt 0 ]; do
    case $1 in
      --crds) [ $# -ge 2 ] || usage; crds=$2; shift 2 ;;
      --namespace) delete_namespace=true; shift ;;
      *) usage ;;
    esac
  done

  if helm status "$release" --namespace "$namespace" >/dev/null 2>&1; then
    helm uninstall "$release" --namespace "$namespace" --wait
  else
    echo "helm-release: no release $release in $namespace" >&2
  fi
  if [ -n "$crds" ]; then
    kubectl delete customresourcedefinitions --selector "$crds" --ignore-not-found
  fi
  if [ "$delete_namespace" = true ]; then
    kubectl delete namespace "$namespace" --ignore-not-found
  fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
  install) install_release "$@" ;;
  uninstall) uninstall_release "$@" ;;
  *) usage ;;
esac
