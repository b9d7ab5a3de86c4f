import type { TestProject } from 'vitest/node';
import { startFakeApi } from './fake-api';

/** Starts the fake outside API once for the workerd tests; they read its port with `inject('fakeApiPort')`. */
export default async function setup(project: TestProject) {
  const api = await startFakeApi();
  project.provide('fakeApiPort', api.port);
  return () => api.close();
}
