import { createRouter, createWebHashHistory } from 'vue-router'

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/today' },
    { path: '/lock', component: () => import('./views/Lock.vue') },
    { path: '/first-run', component: () => import('./views/FirstRun.vue') },
    { path: '/today', component: () => import('./views/Today.vue') },
    { path: '/households', component: () => import('./views/Households.vue') },
    { path: '/household/:id', component: () => import('./views/Household.vue'), props: true },
    { path: '/household/:id/visit', component: () => import('./views/NewVisit.vue'), props: true },
    { path: '/issues', component: () => import('./views/Issues.vue') },
    { path: '/issues/new', component: () => import('./views/NewIssue.vue') },
    { path: '/issue/:id', component: () => import('./views/Issue.vue'), props: true },
    { path: '/sync', component: () => import('./views/Sync.vue') },
  ],
})
