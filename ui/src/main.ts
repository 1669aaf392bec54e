import { createApp } from 'vue'
import Vant from 'vant'
import 'vant/lib/index.css'
import './style.css'
import App from './App.vue'
import { router } from './router'
import { installLock } from './lib/lock'
import { i18n, savedLocale } from './i18n'

document.documentElement.lang = savedLocale()
installLock(router)
createApp(App).use(router).use(i18n).use(Vant).mount('#app')
